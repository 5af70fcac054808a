// Package record holds dnslb's domain types — zones, record sets, routing
// policies — and the rules that make them valid. It imports nothing else of
// dnslb, so every other package can share one vocabulary.
//
// Names are kept fully qualified and lower case ("www.lb.test."); Canonical
// turns user input into that form. Every validation error is a *FieldError
// naming the field and what is allowed.
package record
