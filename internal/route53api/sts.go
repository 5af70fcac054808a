package route53api

import (
	"encoding/xml"
	"net/http"
	"net/url"
)

// stsNamespace is the XML namespace of STS answers.
const stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// Account is the AWS account id GetCallerIdentity answers: dnslb has no
// accounts, and clients such as Terraform only need 12 digits.
const Account = "000000000000"

type getCallerIdentityResponse struct {
	XMLName xml.Name `xml:"GetCallerIdentityResponse"`
	NS      string   `xml:"xmlns,attr"`
	Result  struct {
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	} `xml:"GetCallerIdentityResult"`
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

// sts answers STS's GetCallerIdentity (POST / with Action=GetCallerIdentity)
// for the key that signed it; other STS actions are refused.
func (h *Handler) sts(c *call) (int, any, error) {
	form, err := url.ParseQuery(string(c.body))
	if err != nil || form.Get("Action") != "GetCallerIdentity" {
		return 0, nil, &Error{Status: http.StatusBadRequest, Code: "InvalidAction",
			Message: "Could not find operation " + form.Get("Action") + " for version " + form.Get("Version") + "; dnslb answers GetCallerIdentity only"}
	}
	var res getCallerIdentityResponse
	res.NS, res.RequestID = stsNamespace, c.requestID
	res.Result.Arn = "arn:aws:iam::" + Account + ":user/dnslb/" + c.key.ID
	res.Result.UserID, res.Result.Account = c.key.ID, Account
	return http.StatusOK, res, nil
}
