package route53api

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
)

// Namespace is the XML namespace of every Route 53 request and answer.
const Namespace = "https://route53.amazonaws.com/doc/2013-04-01/"

// Error is a Route 53 error: an HTTP status, a code and a message, sent
// in Route 53's ErrorResponse envelope; InvalidChangeBatch carries its
// messages in a body of its own, as Route 53 does.
type Error struct {
	Status   int
	Code     string
	Message  string
	Messages []string // InvalidChangeBatch only
}

func (e *Error) Error() string {
	if e.Code == codeInvalidChangeBatch && len(e.Messages) > 0 {
		return fmt.Sprintf("%s: %s", e.Code, e.Messages[0])
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Error codes, as Route 53 and STS name them.
const (
	codeInvalidChangeBatch      = "InvalidChangeBatch"
	codeInvalidInput            = "InvalidInput"
	codeNoSuchHostedZone        = "NoSuchHostedZone"
	codeNoSuchChange            = "NoSuchChange"
	codeNoSuchHealthCheck       = "NoSuchHealthCheck"
	codeHostedZoneAlreadyExists = "HostedZoneAlreadyExists"
	codeHostedZoneNotEmpty      = "HostedZoneNotEmpty"
	codeInvalidDomainName       = "InvalidDomainName"
	codeSignatureDoesNotMatch   = "SignatureDoesNotMatch"
	codeInvalidClientTokenID    = "InvalidClientTokenId"
	codeMissingAuthToken        = "MissingAuthenticationToken"
	codeIncompleteSignature     = "IncompleteSignature"
	codeAccessDenied            = "AccessDenied"
	codeThrottling              = "Throttling"
	codePriorRequestNotComplete = "PriorRequestNotComplete"
	codeInternal                = "InternalFailure"
	codeUnknownOperation        = "UnknownOperationException"
	codeNotFound                = "NotFound"
)

// Throttling is the error Route 53 answers when requests come too fast;
// clients retry it with backoff. For Options.Inject.
func Throttling() error {
	return &Error{Status: http.StatusBadRequest, Code: codeThrottling, Message: "Rate exceeded"}
}

// PriorRequestNotComplete is the error Route 53 answers a change sent
// while an earlier one to the same record sets is still being applied;
// clients retry it. For Options.Inject.
func PriorRequestNotComplete() error {
	return &Error{Status: http.StatusBadRequest, Code: codePriorRequestNotComplete,
		Message: "The request was rejected because Route 53 was still processing a prior request."}
}

func invalidInput(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: codeInvalidInput, Message: fmt.Sprintf(format, args...)}
}

func invalidBatch(msgs ...string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: codeInvalidChangeBatch, Message: "ChangeBatch errors occurred", Messages: msgs}
}

func noSuchZone(id string) *Error {
	return &Error{Status: http.StatusNotFound, Code: codeNoSuchHostedZone, Message: "No hosted zone found with ID: " + id}
}

func accessDenied(format string, args ...any) *Error {
	return &Error{Status: http.StatusForbidden, Code: codeAccessDenied, Message: fmt.Sprintf(format, args...)}
}

// errorResponse is Route 53's (and STS's) error envelope.
type errorResponse struct {
	XMLName   xml.Name    `xml:"ErrorResponse"`
	NS        string      `xml:"xmlns,attr"`
	Error     errorDetail `xml:"Error"`
	RequestID string      `xml:"RequestId"`
}

type errorDetail struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// writeError answers e in Route 53's ErrorResponse envelope; ns is the
// namespace of the service (Route 53 or STS). The messages of an
// InvalidChangeBatch go in its Message as Route 53 writes them:
// "[first, second]".
func writeError(w http.ResponseWriter, e *Error, ns, requestID string) {
	msg := e.Message
	if e.Code == codeInvalidChangeBatch && len(e.Messages) > 0 {
		msg = "[" + strings.Join(e.Messages, ", ") + "]"
	}
	typ := "Sender"
	if e.Status >= 500 {
		typ = "Receiver"
	}
	writeXML(w, e.Status, requestID, errorResponse{NS: ns, RequestID: requestID,
		Error: errorDetail{Type: typ, Code: e.Code, Message: msg}})
}

// writeXML writes v as an XML document with the request id header.
func writeXML(w http.ResponseWriter, status int, requestID string, v any) {
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", requestID)
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(v) // the client has gone if this fails
}
