package route53api

import (
	"encoding/xml"
	"time"
)

// Wire types of the Route 53 API, as in its model (botocore's
// route53/2013-04-01/service-2.json). Request types catch unknown elements
// (Other) so that what dnslb does not support is refused, never ignored.

// unknown collects elements a request type does not know.
type unknown struct {
	XMLName xml.Name
}

type hostedZoneConfig struct {
	Comment     string `xml:"Comment,omitempty"`
	PrivateZone bool   `xml:"PrivateZone"`
}

type createHostedZoneRequest struct {
	XMLName          xml.Name          `xml:"CreateHostedZoneRequest"`
	Name             string            `xml:"Name"`
	CallerReference  string            `xml:"CallerReference"`
	HostedZoneConfig *hostedZoneConfig `xml:"HostedZoneConfig"`
	DelegationSetID  string            `xml:"DelegationSetId"`
	VPC              *unknown          `xml:"VPC"`
	Other            []unknown         `xml:",any"`
}

type hostedZone struct {
	ID                     string            `xml:"Id"`
	Name                   string            `xml:"Name"`
	CallerReference        string            `xml:"CallerReference"`
	Config                 *hostedZoneConfig `xml:"Config"`
	ResourceRecordSetCount int64             `xml:"ResourceRecordSetCount"`
}

type delegationSet struct {
	NameServers []string `xml:"NameServers>NameServer"`
}

type changeInfo struct {
	ID          string    `xml:"Id"`
	Status      string    `xml:"Status"`
	SubmittedAt time.Time `xml:"SubmittedAt"`
	Comment     string    `xml:"Comment,omitempty"`
}

type createHostedZoneResponse struct {
	XMLName       xml.Name      `xml:"CreateHostedZoneResponse"`
	NS            string        `xml:"xmlns,attr"`
	HostedZone    hostedZone    `xml:"HostedZone"`
	ChangeInfo    changeInfo    `xml:"ChangeInfo"`
	DelegationSet delegationSet `xml:"DelegationSet"`
}

type getHostedZoneResponse struct {
	XMLName       xml.Name      `xml:"GetHostedZoneResponse"`
	NS            string        `xml:"xmlns,attr"`
	HostedZone    hostedZone    `xml:"HostedZone"`
	DelegationSet delegationSet `xml:"DelegationSet"`
}

type listHostedZonesResponse struct {
	XMLName     xml.Name     `xml:"ListHostedZonesResponse"`
	NS          string       `xml:"xmlns,attr"`
	HostedZones []hostedZone `xml:"HostedZones>HostedZone"`
	Marker      string       `xml:"Marker"`
	IsTruncated bool         `xml:"IsTruncated"`
	NextMarker  string       `xml:"NextMarker,omitempty"`
	MaxItems    string       `xml:"MaxItems"`
}

type listHostedZonesByNameResponse struct {
	XMLName          xml.Name     `xml:"ListHostedZonesByNameResponse"`
	NS               string       `xml:"xmlns,attr"`
	HostedZones      []hostedZone `xml:"HostedZones>HostedZone"`
	DNSName          string       `xml:"DNSName,omitempty"`
	HostedZoneID     string       `xml:"HostedZoneId,omitempty"`
	IsTruncated      bool         `xml:"IsTruncated"`
	NextDNSName      string       `xml:"NextDNSName,omitempty"`
	NextHostedZoneID string       `xml:"NextHostedZoneId,omitempty"`
	MaxItems         string       `xml:"MaxItems"`
}

type deleteHostedZoneResponse struct {
	XMLName    xml.Name   `xml:"DeleteHostedZoneResponse"`
	NS         string     `xml:"xmlns,attr"`
	ChangeInfo changeInfo `xml:"ChangeInfo"`
}

// resourceRecordSet is both read from change batches and written in
// listings.
type resourceRecordSet struct {
	Name             string           `xml:"Name"`
	Type             string           `xml:"Type"`
	SetIdentifier    string           `xml:"SetIdentifier,omitempty"`
	Weight           *int64           `xml:"Weight"`
	MultiValueAnswer *bool            `xml:"MultiValueAnswer"`
	TTL              *int64           `xml:"TTL"`
	ResourceRecords  *resourceRecords `xml:"ResourceRecords"`
	HealthCheckID    string           `xml:"HealthCheckId,omitempty"`
	Other            []unknown        `xml:",any"`
}

type resourceRecords struct {
	Records []resourceRecord `xml:"ResourceRecord"`
}

type resourceRecord struct {
	Value string `xml:"Value"`
}

type change struct {
	Action            string             `xml:"Action"`
	ResourceRecordSet *resourceRecordSet `xml:"ResourceRecordSet"`
	Other             []unknown          `xml:",any"`
}

type changeBatch struct {
	Comment string    `xml:"Comment"`
	Changes []change  `xml:"Changes>Change"`
	Other   []unknown `xml:",any"`
}

type changeResourceRecordSetsRequest struct {
	XMLName     xml.Name     `xml:"ChangeResourceRecordSetsRequest"`
	ChangeBatch *changeBatch `xml:"ChangeBatch"`
	Other       []unknown    `xml:",any"`
}

type changeResourceRecordSetsResponse struct {
	XMLName    xml.Name   `xml:"ChangeResourceRecordSetsResponse"`
	NS         string     `xml:"xmlns,attr"`
	ChangeInfo changeInfo `xml:"ChangeInfo"`
}

type getChangeResponse struct {
	XMLName    xml.Name   `xml:"GetChangeResponse"`
	NS         string     `xml:"xmlns,attr"`
	ChangeInfo changeInfo `xml:"ChangeInfo"`
}

type listResourceRecordSetsResponse struct {
	XMLName              xml.Name            `xml:"ListResourceRecordSetsResponse"`
	NS                   string              `xml:"xmlns,attr"`
	ResourceRecordSets   []resourceRecordSet `xml:"ResourceRecordSets>ResourceRecordSet"`
	IsTruncated          bool                `xml:"IsTruncated"`
	NextRecordName       string              `xml:"NextRecordName,omitempty"`
	NextRecordType       string              `xml:"NextRecordType,omitempty"`
	NextRecordIdentifier string              `xml:"NextRecordIdentifier,omitempty"`
	MaxItems             string              `xml:"MaxItems"`
}
