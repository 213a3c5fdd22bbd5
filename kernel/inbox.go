package kernel

import (
	"fmt"
	"os"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel/bus"
)

// CredentialID names the credential whose user public key is userKey in
// the subjects that are its own (bus.CredentialID).
func CredentialID(userKey string) string { return bus.CredentialID(userKey) }

// InboxPrefix is the inbox prefix of the credential whose user public key
// is userKey (bus.InboxPrefix).
func InboxPrefix(userKey string) string { return bus.InboxPrefix(userKey) }

// CredsInboxPrefix reads the inbox prefix of a .creds file's credential.
func CredsInboxPrefix(credsFile string) (string, error) {
	raw, err := os.ReadFile(credsFile)
	if err != nil {
		return "", fmt.Errorf("%w: read credential: %v", ErrAuth, err)
	}
	return credsContentInboxPrefix(raw)
}

func credsContentInboxPrefix(creds []byte) (string, error) {
	tok, err := jwt.ParseDecoratedJWT(creds)
	if err != nil {
		return "", fmt.Errorf("%w: not a .creds file: %v", ErrAuth, err)
	}
	uc, err := jwt.DecodeUserClaims(tok)
	if err != nil {
		return "", fmt.Errorf("%w: the .creds file holds no user JWT: %v", ErrAuth, err)
	}
	return InboxPrefix(uc.Subject), nil
}

// CredsOptions authenticates with a .creds file and sets the inbox prefix
// its permissions allow: every connection a part makes with a credential
// goes through it, so replies reach the part and nobody else.
func CredsOptions(credsFile string) ([]nats.Option, error) {
	prefix, err := CredsInboxPrefix(credsFile)
	if err != nil {
		return nil, err
	}
	return []nats.Option{nats.UserCredentials(credsFile), nats.CustomInboxPrefix(prefix)}, nil
}
