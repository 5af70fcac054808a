package record

// Route53Zone is what the Route 53 API (package route53api) keeps of a
// zone besides dnslb's own fields.
type Route53Zone struct {
	// CallerReference is the unique string the zone was created with
	// (CreateHostedZone), so that a retried create is recognized.
	CallerReference string            `json:"caller_reference,omitempty"`
	Comment         string            `json:"comment,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
}
