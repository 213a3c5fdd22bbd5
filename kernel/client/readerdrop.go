package client

import (
	"context"
	"sync"
	"time"

	"github.com/amf-os/amf/kernel/bus"
)

// readerDrops deletes the readers' consumers of ids whose recording was
// withdrawn (a task that could not be queued): a consumer filters on its
// task's id, and the id is anyone's again at once, so a reader made for
// the withdrawn task would be delivered the next owner's task under it.
// One pass at a time lists the stream's consumers, for every id
// withdrawn meanwhile: a full queue, which withdraws every submission,
// costs one listing at a time, not one per submission.
type readerDrops struct {
	mu      sync.Mutex
	pending map[string]bool
	running bool
}

// dropReadersOf deletes id's readers' consumers in the background.
func (c *Client) dropReadersOf(id string) {
	d := &c.drops
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pending == nil {
		d.pending = map[string]bool{}
	}
	d.pending[id] = true
	if d.running {
		return
	}
	d.running = true
	go func() {
		for {
			d.mu.Lock()
			ids := d.pending
			d.pending = nil
			if len(ids) == 0 {
				d.running = false
				d.mu.Unlock()
				return
			}
			d.mu.Unlock()
			c.deleteReadersOf(ids)
		}
	}()
}

func (c *Client) deleteReadersOf(ids map[string]bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list := c.events.ListConsumers(ctx)
	for info := range list.Info() {
		if !bus.IsReaderName(info.Name) {
			continue
		}
		if id, ok := c.Names.ReaderTask(info.Config); ok && ids[id] {
			_ = c.events.DeleteConsumer(ctx, info.Name)
		}
	}
}
