package agent

import (
	"errors"
	"fmt"
	"strings"
)

// ErrTokenUnanswered is an IMDSv2 token request (PUT) that reached IMDS
// but got no answer in time: on EC2 that is, almost always, a container
// one network hop further than the instance's PUT response hop limit
// allows, so IMDS's answer is dropped on the way.
var ErrTokenUnanswered = errors.New("IMDS accepted the connection but the IMDSv2 token request (PUT) got no answer: " +
	"in a container, raise the hop limit (HttpPutResponseHopLimit, e.g. aws ec2 modify-instance-metadata-options " +
	"--http-put-response-hop-limit 2)")

// hint marks an IMDS error whose cause is a token request that timed out
// after the connection was made, so that the message says what to do.
func hint(err error) error {
	if tokenTimeout(err) {
		return fmt.Errorf("%w (%w)", ErrTokenUnanswered, err)
	}
	return err
}

// tokenTimeout reports whether err is the IMDS client failing to get its
// token with a timeout other than one of connecting: IMDS was reached and
// did not answer. The SDK wraps the token error in a type without Unwrap,
// so its text is read (the words are the SDK's and net/http's).
func tokenTimeout(err error) bool {
	msg := err.Error()
	i := strings.Index(msg, "failed to get API token")
	if i < 0 {
		return false
	}
	rest := msg[i:]
	return !strings.Contains(rest, "dial tcp") &&
		(strings.Contains(rest, "timeout") || strings.Contains(rest, "deadline exceeded"))
}
