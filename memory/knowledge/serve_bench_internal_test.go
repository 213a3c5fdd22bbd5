package knowledge

import (
	"context"
	"fmt"
	"testing"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory"
)

// BenchmarkServedSearch is `amf memory search` as the CLI now does it:
// one NATS request to a worker's index (sync with the stream, embed the
// query, search, reply), request to reply, at 10k and 100k memories;
// pool= ranks with the flat accelerator, pool=default with chromem-go's
// query filtered by pool (every memory is in it: the worst case). Before, the CLI replayed and embedded the whole stream on
// every call: BenchmarkCatchUp's rate gives that cost.
func BenchmarkServedSearch(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			kt := kerneltest.Start(b)
			ctx := context.Background()
			k, err := Open(ctx, kt.JS, Config{})
			if err != nil {
				b.Fatal(err)
			}
			defer k.Close()
			<-k.CaughtUp()
			_, qs := fillBench(b, k, n)
			names := bus.Names{}
			stop := Serve(ctx, kt.NC, names, k)
			defer stop()
			for {
				if _, err := memory.Search(ctx, kt.NC, names, memory.SearchRequest{Query: "warm up"}); err == nil {
					break
				}
			}
			for _, pool := range []string{"", "default"} {
				b.Run("pool="+pool, func(b *testing.B) {
					i := 0
					for b.Loop() {
						rep, err := memory.Search(ctx, kt.NC, names, memory.SearchRequest{Query: qs[i%len(qs)], K: 5, Pool: pool})
						if err != nil || rep.Memories != n || len(rep.Matches) == 0 {
							b.Fatalf("search: %+v, %v", rep, err)
						}
						i++
					}
				})
			}
		})
	}
}
