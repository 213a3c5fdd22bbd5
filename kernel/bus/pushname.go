package bus

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// requestPart is the part of a kernel-made consumer's name after its
// asker's prefix: a digest of the request it answers. A request asked
// again (its answer came late, and the client's retry sent it once more)
// names the same consumer, which the server makes once; another request
// names another. It is as unguessable as the deliver subject in it, an
// inbox with a random token.
func requestPart(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(strconv.Itoa(len(p))))
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
