package route53api_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/dnslb/dnslb/internal/route53api/r53test"
)

// BenchmarkChangeBatch1000 measures one ChangeResourceRecordSets of 1,000
// CREATEs (Route 53's largest batch: 10 names of 100 weighted sets) sent
// by the real SDK over loopback, until DNS answers carry it (INSYNC).
func BenchmarkChangeBatch1000(b *testing.B) {
	srv := r53test.Start(b, r53test.Options{})
	cl := adminClient(srv)
	out, err := cl.CreateHostedZone(b.Context(), &route53CreateZone)
	if err != nil {
		b.Fatal(err)
	}
	zid := aws.ToString(out.HostedZone.Id)
	for i := 0; b.Loop(); i++ {
		changes := make([]types.Change, 0, 1000)
		for j := range 1000 {
			changes = append(changes, weighted(types.ChangeActionCreate, fmt.Sprintf("n%d-%d.example.com", i, j/100), fmt.Sprint(j%100), 10, 60,
				fmt.Sprintf("10.%d.%d.%d", i%250, j/250, j%250)))
		}
		info, err := changeB(b, cl, zid, changes)
		if err != nil || info.Status != types.ChangeStatusInsync {
			b.Fatalf("batch %d: %+v, %v", i, info, err)
		}
	}
}
