// Package route53api serves a subset of the Amazon Route 53 API
// (version 2013-04-01, REST-XML, Signature Version 4) over dnslb's
// registry, so that the aws CLI, boto3, the AWS SDKs and Terraform drive
// dnslb with only an endpoint override. Hosted zones are dnslb zones,
// resource record sets are dnslb record sets (a SetIdentifier and Weight
// make a weighted set), and a change is INSYNC once DNS answers carry it.
//
// Requests are authenticated with the access keys of a credentials file
// (keys.go), each mapped to a dnslb token scope; errors are answered with
// Route 53's codes and bodies (errors.go).
package route53api
