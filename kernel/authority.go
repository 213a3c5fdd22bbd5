package kernel

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/amf-os/amf/internal/atomicfile"
	"github.com/amf-os/amf/kernel/client"
)

// ErrAuth reports a problem with the installation's keys or credentials.
var ErrAuth = errors.New("kernel auth")

// Authority is the signing chain of one installation, kept in a directory
// readable by its owner only: an operator, the system account (through
// which revocations reach a running kernel) and the account every part of
// AMF-OS connects to. It is nats-server's decentralised JWT model: a
// credential is a user JWT signed by the account key plus the user's own
// seed, so issuing one needs no running kernel and `nats --creds` reads it.
type Authority struct {
	Dir string

	operator, system, account nkeys.KeyPair
	operatorClaims            *jwt.OperatorClaims
	accountClaims             *jwt.AccountClaims
}

// Files of an authority directory.
const (
	operatorSeedFile = "operator.nk"
	systemSeedFile   = "system.nk"
	accountSeedFile  = "account.nk"
	accountJWTFile   = "account.jwt"
	// SystemCredsFile lets the owner of the directory push account
	// updates (revocations) to a running kernel.
	SystemCredsFile = "system.creds"
	issuedFile      = "issued.jsonl"
)

// OpenAuthority loads the keys in dir, creating them on first use.
func OpenAuthority(dir string) (*Authority, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAuth, err)
	}
	a := &Authority{Dir: dir}
	// A kernel's first start and an `amf auth` command may create the
	// keys at the same moment: one of them makes them, the other reads.
	unlock, err := a.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if a.operator, err = loadOrCreateKey(filepath.Join(dir, operatorSeedFile), nkeys.CreateOperator); err != nil {
		return nil, err
	}
	if a.system, err = loadOrCreateKey(filepath.Join(dir, systemSeedFile), nkeys.CreateAccount); err != nil {
		return nil, err
	}
	if a.account, err = loadOrCreateKey(filepath.Join(dir, accountSeedFile), nkeys.CreateAccount); err != nil {
		return nil, err
	}
	opPub, _ := a.operator.PublicKey()
	sysPub, _ := a.system.PublicKey()
	a.operatorClaims = jwt.NewOperatorClaims(opPub)
	a.operatorClaims.Name = "amf"
	a.operatorClaims.SystemAccount = sysPub
	if err := a.loadAccount(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, SystemCredsFile)); errors.Is(err, os.ErrNotExist) {
		creds, _, err := a.issueSystem()
		if err != nil {
			return nil, err
		}
		if err := writeSecret(filepath.Join(dir, SystemCredsFile), creds); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func loadOrCreateKey(path string, create func() (nkeys.KeyPair, error)) (nkeys.KeyPair, error) {
	seed, err := os.ReadFile(path)
	if err == nil {
		kp, err := nkeys.FromSeed([]byte(strings.TrimSpace(string(seed))))
		if err != nil {
			return nil, fmt.Errorf("%w: %s is not an nkey seed: %v", ErrAuth, path, err)
		}
		return kp, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %v", ErrAuth, err)
	}
	kp, err := create()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAuth, err)
	}
	seed, _ = kp.Seed()
	if err := writeSecret(path, append(seed, '\n')); err != nil {
		return nil, err
	}
	return kp, nil
}

// writeSecret writes a file only its owner can read, atomically.
func writeSecret(path string, data []byte) error {
	if err := atomicfile.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("%w: %w", ErrAuth, err)
	}
	return nil
}

// loadAccount reads the account JWT (it carries the revocations), or
// makes the first one.
func (a *Authority) loadAccount() error {
	accPub, _ := a.account.PublicKey()
	raw, err := os.ReadFile(filepath.Join(a.Dir, accountJWTFile))
	if err == nil {
		ac, err := jwt.DecodeAccountClaims(strings.TrimSpace(string(raw)))
		if err != nil || ac.Subject != accPub {
			return fmt.Errorf("%w: %s does not belong to the account key in %s", ErrAuth, accountJWTFile, a.Dir)
		}
		a.accountClaims = ac
		return nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %v", ErrAuth, err)
	}
	ac := jwt.NewAccountClaims(accPub)
	ac.Name = "AMF"
	// JetStream is the bus: unlimited within what the server allows.
	ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
	a.accountClaims = ac
	return a.saveAccount()
}

func (a *Authority) saveAccount() error {
	s, err := a.accountClaims.Encode(a.operator)
	if err != nil {
		return fmt.Errorf("%w: sign account: %v", ErrAuth, err)
	}
	return writeSecret(filepath.Join(a.Dir, accountJWTFile), []byte(s+"\n"))
}

// AccountJWT is the account's current signed claims.
func (a *Authority) AccountJWT() (string, error) { return a.accountClaims.Encode(a.operator) }

// AccountKey is the public key of the account AMF-OS lives in.
func (a *Authority) AccountKey() string { k, _ := a.account.PublicKey(); return k }

// configure puts the server in operator mode with this authority's
// accounts preloaded in a memory resolver. Updates signed by the operator
// (revocations) arrive through the system account while it runs.
func (a *Authority) configure(opts *server.Options) error {
	sysPub, _ := a.system.PublicKey()
	sysJWT, err := a.systemAccountJWT()
	if err != nil {
		return err
	}
	accJWT, err := a.AccountJWT()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrAuth, err)
	}
	res := &server.MemAccResolver{}
	if err := res.Store(sysPub, sysJWT); err != nil {
		return err
	}
	if err := res.Store(a.AccountKey(), accJWT); err != nil {
		return err
	}
	opts.TrustedOperators = []*jwt.OperatorClaims{a.operatorClaims}
	opts.SystemAccount = sysPub
	opts.AccountResolver = res
	return nil
}

// systemAccountJWT is the system account's signed claims.
func (a *Authority) systemAccountJWT() (string, error) {
	sysPub, _ := a.system.PublicKey()
	sysClaims := jwt.NewAccountClaims(sysPub)
	sysClaims.Name = "SYS"
	s, err := sysClaims.Encode(a.operator)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrAuth, err)
	}
	return s, nil
}

// Issue signs a credential for spec and returns it in the .creds format
// (user JWT and seed) with the user's public key.
func (a *Authority) Issue(spec UserSpec) (creds []byte, key string, err error) {
	if err := spec.validate(); err != nil {
		return nil, "", err
	}
	ukp, err := nkeys.CreateUser()
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrAuth, err)
	}
	key, _ = ukp.PublicKey()
	uc := jwt.NewUserClaims(key)
	uc.Name = spec.Name
	uc.Permissions = spec.permissions(key)
	uc.Limits.Subs = spec.subsLimit()
	uc.Tags.Add("role:" + string(spec.Role))
	for _, g := range spec.Grants {
		uc.Tags.Add("grant:" + g)
	}
	if spec.ReadAll {
		uc.Tags.Add(client.ReadAllTag)
	}
	if spec.TTL > 0 {
		uc.Expires = time.Now().Add(spec.TTL).Unix()
	}
	token, err := uc.Encode(a.account)
	if err != nil {
		return nil, "", fmt.Errorf("%w: sign user: %v", ErrAuth, err)
	}
	seed, _ := ukp.Seed()
	creds, err = jwt.FormatUserConfig(token, seed)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrAuth, err)
	}
	if !spec.ephemeral {
		if err := a.record(Issued{Name: spec.Name, Role: spec.Role, Pools: spec.Pools, Grants: spec.Grants, ReadAll: spec.ReadAll, Key: key, Issued: time.Now().UTC()}); err != nil {
			return nil, "", err
		}
	}
	return creds, key, nil
}

// issueSystem signs the system-account user that pushes account updates.
func (a *Authority) issueSystem() ([]byte, string, error) {
	ukp, err := nkeys.CreateUser()
	if err != nil {
		return nil, "", err
	}
	key, _ := ukp.PublicKey()
	uc := jwt.NewUserClaims(key)
	uc.Name = "amf-system"
	token, err := uc.Encode(a.system)
	if err != nil {
		return nil, "", err
	}
	seed, _ := ukp.Seed()
	creds, err := jwt.FormatUserConfig(token, seed)
	return creds, key, err
}

// Issued is the public record of one credential: enough to list and
// revoke it, never its seed.
type Issued struct {
	Name    string    `json:"name"`
	Role    Role      `json:"role"`
	Pools   []string  `json:"pools,omitempty"`
	Grants  []string  `json:"grants,omitempty"`
	ReadAll bool      `json:"read_all,omitempty"`
	Key     string    `json:"key"`
	Issued  time.Time `json:"issued"`
	Revoked bool      `json:"revoked,omitempty"`
}

func (a *Authority) record(r Issued) error {
	f, err := os.OpenFile(filepath.Join(a.Dir, issuedFile), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrAuth, err)
	}
	defer f.Close()
	b, _ := json.Marshal(r)
	_, err = f.Write(append(b, '\n'))
	return err
}

// List returns every credential issued from this directory, marking the
// revoked ones.
func (a *Authority) List() ([]Issued, error) {
	f, err := os.Open(filepath.Join(a.Dir, issuedFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAuth, err)
	}
	defer f.Close()
	var out []Issued
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r Issued
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			continue
		}
		_, r.Revoked = a.accountClaims.Revocations[r.Key]
		out = append(out, r)
	}
	return out, sc.Err()
}

// Resolve turns what an operator names — a user public key, a credential
// name or a .creds file — into the user keys it stands for.
func (a *Authority) Resolve(what string) ([]string, error) {
	if nkeys.IsValidPublicUserKey(what) {
		return []string{what}, nil
	}
	if raw, err := os.ReadFile(what); err == nil {
		tok, err := jwt.ParseDecoratedJWT(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %s is not a .creds file: %v", ErrAuth, what, err)
		}
		uc, err := jwt.DecodeUserClaims(tok)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrAuth, what, err)
		}
		return []string{uc.Subject}, nil
	}
	list, err := a.List()
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, r := range list {
		if r.Name == what {
			keys = append(keys, r.Key)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: %q is not a user key (U…), a .creds file or the name of an issued credential (see `amf auth list`)", ErrAuth, what)
	}
	return keys, nil
}

// Revoke adds keys to the account's revocation list and saves it; the
// returned account JWT is what a running kernel must be sent (see
// PushAccount) for live connections of those users to be cut off.
func (a *Authority) Revoke(keys ...string) (string, error) {
	unlock, err := a.lock()
	if err != nil {
		return "", err
	}
	defer unlock()
	// Start from the saved account: another revocation may have come
	// since this authority was opened.
	if err := a.loadAccount(); err != nil {
		return "", err
	}
	for _, k := range keys {
		// A revocation covers credentials issued up to this second;
		// one second ahead covers one signed in the same second.
		a.accountClaims.RevokeAt(k, time.Now().Add(time.Second))
	}
	if err := a.saveAccount(); err != nil {
		return "", err
	}
	return a.AccountJWT()
}

// lock holds an exclusive lock on the directory's keys until unlock.
func (a *Authority) lock() (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(a.Dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if errors.Is(err, syscall.EROFS) || errors.Is(err, os.ErrPermission) {
		// A read-only copy (a mounted Secret): nothing is written there,
		// so nothing needs the lock.
		return func() {}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAuth, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: lock %s: %v", ErrAuth, a.Dir, err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}
