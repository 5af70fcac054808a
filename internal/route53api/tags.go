package route53api

import (
	"encoding/xml"
	"net/http"
	"slices"

	"github.com/dnslb/dnslb/internal/record"
)

// MaxTags is how many tags a resource may have, as in Route 53.
const MaxTags = 50

type tag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type resourceTagSet struct {
	ResourceType string `xml:"ResourceType"`
	ResourceID   string `xml:"ResourceId"`
	Tags         []tag  `xml:"Tags>Tag"`
}

type listTagsForResourceResponse struct {
	XMLName        xml.Name       `xml:"ListTagsForResourceResponse"`
	NS             string         `xml:"xmlns,attr"`
	ResourceTagSet resourceTagSet `xml:"ResourceTagSet"`
}

type changeTagsForResourceRequest struct {
	XMLName       xml.Name  `xml:"ChangeTagsForResourceRequest"`
	AddTags       []tag     `xml:"AddTags>Tag"`
	RemoveTagKeys []string  `xml:"RemoveTagKeys>Key"`
	Other         []unknown `xml:",any"`
}

type changeTagsForResourceResponse struct {
	XMLName xml.Name `xml:"ChangeTagsForResourceResponse"`
	NS      string   `xml:"xmlns,attr"`
}

// tagsRoutes adds ListTagsForResource and ChangeTagsForResource.
func (h *Handler) tagsRoutes() {
	h.handle("GET "+prefix+"/tags/{type}/{id}", operation{"ListTagsForResource", false, h.listTags})
	h.handle("POST "+prefix+"/tags/{type}/{id}", operation{"ChangeTagsForResource", true, h.changeTags})
}

// tagged is a resource that can carry tags: its tags, and how to change
// them.
type tagged struct {
	tags   map[string]string
	change func(fn func(map[string]string) error) error
}

func (h *Handler) taggedOf(c *call) (tagged, error) {
	id := bareID(c.r.PathValue("id"))
	ctx := c.r.Context()
	switch c.r.PathValue("type") {
	case "hostedzone":
		z, err := h.zoneByID(ctx, id)
		if err != nil {
			return tagged{}, err
		}
		var tags map[string]string
		if z.Route53 != nil {
			tags = z.Route53.Tags
		}
		return tagged{tags: tags, change: func(fn func(map[string]string) error) error {
			return h.opts.Registry.SetRoute53(ctx, z.Name, func(m *record.Route53Zone) error {
				if m.Tags == nil {
					m.Tags = map[string]string{}
				}
				return fn(m.Tags)
			})
		}}, nil
	case "healthcheck":
		return h.taggedCheck(ctx, id)
	}
	return tagged{}, invalidInput("1 validation error detected: Value '%s' at 'resourceType' failed to satisfy constraint: Member must satisfy enum value set: [healthcheck, hostedzone]", c.r.PathValue("type"))
}

func (h *Handler) listTags(c *call) (int, any, error) {
	t, err := h.taggedOf(c)
	if err != nil {
		return 0, nil, err
	}
	res := listTagsForResourceResponse{NS: Namespace, ResourceTagSet: resourceTagSet{
		ResourceType: c.r.PathValue("type"), ResourceID: bareID(c.r.PathValue("id"))}}
	keys := make([]string, 0, len(t.tags))
	for k := range t.tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		res.ResourceTagSet.Tags = append(res.ResourceTagSet.Tags, tag{Key: k, Value: t.tags[k]})
	}
	return http.StatusOK, res, nil
}

func (h *Handler) changeTags(c *call) (int, any, error) {
	var req changeTagsForResourceRequest
	if err := decodeXML(c.body, &req, "ChangeTagsForResourceRequest"); err != nil {
		return 0, nil, err
	}
	if err := checkRoot(req.XMLName, "ChangeTagsForResourceRequest"); err != nil {
		return 0, nil, err
	}
	if err := checkUnknown("ChangeTagsForResourceRequest", req.Other); err != nil {
		return 0, nil, err
	}
	if len(req.AddTags) > 10 || len(req.RemoveTagKeys) > 10 {
		return 0, nil, invalidInput("1 validation error detected: AddTags and RemoveTagKeys take at most 10 entries each")
	}
	for _, t := range req.AddTags {
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
			return 0, nil, invalidInput("Tag keys are 1..128 characters and values at most 256; got key %q", clip(t.Key))
		}
	}
	t, err := h.taggedOf(c)
	if err != nil {
		return 0, nil, err
	}
	err = t.change(func(tags map[string]string) error {
		for _, k := range req.RemoveTagKeys {
			delete(tags, k)
		}
		for _, tg := range req.AddTags {
			tags[tg.Key] = tg.Value
		}
		if len(tags) > MaxTags {
			return invalidInput("A resource may have at most %d tags; this change leaves %d", MaxTags, len(tags))
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, changeTagsForResourceResponse{NS: Namespace}, nil
}
