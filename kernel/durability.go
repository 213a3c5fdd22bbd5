package kernel

import (
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Sync choices: JetStream acknowledges a stored message once it is
// written to the operating system, and flushes its files to disk every
// sync interval (two minutes by default). A kernel process that crashes
// loses nothing acknowledged, since the OS still holds the writes; a host
// that loses power or panics can lose what was acknowledged since the
// last flush. "always" flushes before every acknowledgement.
const (
	SyncDefault = "default"
	SyncAlways  = "always"
)

// applySync sets how often JetStream flushes its store to disk: "" or
// "default" keeps the server's interval (or the configuration file's),
// "always" flushes before every acknowledgement, a duration such as "1s"
// flushes that often.
func applySync(opts *server.Options, sync string) error {
	switch s := strings.TrimSpace(strings.ToLower(sync)); s {
	case "", SyncDefault:
		return nil
	case SyncAlways:
		opts.SyncAlways = true
		return nil
	default:
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return fmt.Errorf("%w: sync %q: want %q, %q or a positive duration such as 1s", ErrConfig, sync, SyncDefault, SyncAlways)
		}
		opts.SyncInterval = d
		return nil
	}
}
