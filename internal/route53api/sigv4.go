package route53api

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// MaxSkew is how far a request's signing time may be from the server's
// clock, as in AWS.
const MaxSkew = 5 * time.Minute

const (
	sigV4Algorithm = "AWS4-HMAC-SHA256"
	amzDateFormat  = "20060102T150405Z"
)

// Messages AWS answers authentication failures with.
const (
	msgBadSignature = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgUnknownKey   = "The security token included in the request is invalid."
	msgMissingAuth  = "Missing Authentication Token"
)

// authenticate finds the access key that signed r (whose body is body)
// for service, with Signature Version 4 or, for Route 53, boto 2's
// AWS3-HTTPS.
func (h *Handler) authenticate(r *http.Request, body []byte, service string) (*Key, *Error) {
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, sigV4Algorithm+" ") {
		return h.verifyV4(r, body, a, service)
	}
	if a := r.Header.Get("X-Amzn-Authorization"); a != "" && service == "route53" {
		return h.verifyV3(r, a)
	}
	if r.Header.Get("Authorization") != "" {
		return nil, &Error{Status: http.StatusBadRequest, Code: codeIncompleteSignature,
			Message: "Authorization header requires 'AWS4-HMAC-SHA256' signing; dnslb accepts Signature Version 4 (and AWS3-HTTPS for Route 53)"}
	}
	return nil, &Error{Status: http.StatusForbidden, Code: codeMissingAuthToken, Message: msgMissingAuth}
}

// v4Auth is a parsed SigV4 Authorization header.
type v4Auth struct {
	keyID, date, region, service string
	signedHeaders                []string
	signature                    string
}

func parseV4(a string) (v4Auth, bool) {
	var p v4Auth
	for _, part := range strings.Split(strings.TrimPrefix(a, sigV4Algorithm+" "), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 5 || f[4] != "aws4_request" {
				return p, false
			}
			p.keyID, p.date, p.region, p.service = f[0], f[1], f[2], f[3]
		case "SignedHeaders":
			p.signedHeaders = strings.Split(v, ";")
		case "Signature":
			p.signature = v
		}
	}
	return p, p.keyID != "" && len(p.signedHeaders) > 0 && p.signature != ""
}

// verifyV4 computes the signature r should carry with the SDK's signer
// over the headers the client signed, and compares.
func (h *Handler) verifyV4(r *http.Request, body []byte, a, service string) (*Key, *Error) {
	p, ok := parseV4(a)
	if !ok {
		return nil, &Error{Status: http.StatusBadRequest, Code: codeIncompleteSignature,
			Message: "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization=" + clip(a)}
	}
	key, ok := h.opts.Keys.lookup(p.keyID)
	if !ok {
		return nil, &Error{Status: http.StatusForbidden, Code: codeInvalidClientTokenID, Message: msgUnknownKey}
	}
	t, err := time.Parse(amzDateFormat, r.Header.Get("X-Amz-Date"))
	if err != nil {
		return nil, &Error{Status: http.StatusBadRequest, Code: codeIncompleteSignature,
			Message: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."}
	}
	if e := h.checkSkew(t); e != nil {
		return nil, e
	}
	if p.service != service || p.date != t.Format("20060102") {
		return nil, &Error{Status: http.StatusForbidden, Code: codeSignatureDoesNotMatch,
			Message: "Credential should be scoped to correct service: '" + service + "'. "}
	}
	want, err := signV4(r, body, p, key, t)
	if err != nil || subtle.ConstantTimeCompare([]byte(want), []byte(p.signature)) != 1 {
		return nil, &Error{Status: http.StatusForbidden, Code: codeSignatureDoesNotMatch, Message: msgBadSignature}
	}
	return key, nil
}

// signV4 signs a copy of r holding only the headers the client signed and
// returns the signature.
func signV4(r *http.Request, body []byte, p v4Auth, key *Key, t time.Time) (string, error) {
	c, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	if err != nil {
		return "", err
	}
	c.Host = r.Host
	for _, name := range p.signedHeaders {
		switch name {
		case "host":
		case "content-length":
			c.ContentLength = int64(len(body))
		default:
			c.Header[http.CanonicalHeaderKey(name)] = r.Header.Values(name)
		}
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		sum := sha256.Sum256(body)
		payload = hex.EncodeToString(sum[:])
	}
	creds := aws.Credentials{AccessKeyID: key.ID, SecretAccessKey: key.Secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, c, payload, p.service, p.region, t); err != nil {
		return "", err
	}
	signed, ok := parseV4(c.Header.Get("Authorization"))
	if !ok || strings.Join(signed.signedHeaders, ";") != strings.Join(p.signedHeaders, ";") {
		return "", errSignedHeaders
	}
	return signed.signature, nil
}

type constError string

func (e constError) Error() string { return string(e) }

const errSignedHeaders = constError("the signer signs other headers than the client did")

// checkSkew refuses a signing time more than MaxSkew from now, with the
// messages AWS uses.
func (h *Handler) checkSkew(t time.Time) *Error {
	now := h.now().UTC()
	switch {
	case t.Before(now.Add(-MaxSkew)):
		return &Error{Status: http.StatusForbidden, Code: codeSignatureDoesNotMatch,
			Message: "Signature expired: " + t.Format(amzDateFormat) + " is now earlier than " + now.Add(-MaxSkew).Format(amzDateFormat) + " (" + now.Format(amzDateFormat) + " - 5 min.)"}
	case t.After(now.Add(MaxSkew)):
		return &Error{Status: http.StatusForbidden, Code: codeSignatureDoesNotMatch,
			Message: "Signature not yet current: " + t.Format(amzDateFormat) + " is still later than " + now.Add(MaxSkew).Format(amzDateFormat) + " (" + now.Format(amzDateFormat) + " + 5 min.)"}
	}
	return nil
}

// verifyV3 checks boto 2's "AWS3-HTTPS AWSAccessKeyId=ID,Algorithm=HmacSHA256,Signature=B64":
// an HMAC of the Date (or X-Amz-Date) header with the secret key.
func (h *Handler) verifyV3(r *http.Request, a string) (*Key, *Error) {
	scheme, rest, _ := strings.Cut(a, " ")
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	var mac func() hash.Hash
	switch fields["Algorithm"] {
	case "HmacSHA256":
		mac = sha256.New
	case "HmacSHA1":
		mac = sha1.New
	}
	if scheme != "AWS3-HTTPS" || mac == nil || fields["AWSAccessKeyId"] == "" || fields["Signature"] == "" {
		return nil, &Error{Status: http.StatusBadRequest, Code: codeIncompleteSignature,
			Message: "X-Amzn-Authorization must be: AWS3-HTTPS AWSAccessKeyId=ID,Algorithm=HmacSHA256,Signature=BASE64"}
	}
	key, ok := h.opts.Keys.lookup(fields["AWSAccessKeyId"])
	if !ok {
		return nil, &Error{Status: http.StatusForbidden, Code: codeInvalidClientTokenID, Message: msgUnknownKey}
	}
	date := r.Header.Get("X-Amz-Date")
	if date == "" {
		date = r.Header.Get("Date")
	}
	t, err := http.ParseTime(date)
	if err != nil {
		return nil, &Error{Status: http.StatusBadRequest, Code: codeIncompleteSignature,
			Message: "AWS3-HTTPS requires a Date header in RFC 1123 form"}
	}
	if e := h.checkSkew(t); e != nil {
		return nil, e
	}
	m := hmac.New(mac, []byte(key.Secret))
	m.Write([]byte(date))
	want := base64.StdEncoding.EncodeToString(m.Sum(nil))
	if subtle.ConstantTimeCompare([]byte(want), []byte(fields["Signature"])) != 1 {
		return nil, &Error{Status: http.StatusForbidden, Code: codeSignatureDoesNotMatch, Message: msgBadSignature}
	}
	return key, nil
}
