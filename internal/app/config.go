package app

import (
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/notify/smtp"
)

// Config is everything the server can be told, from flags and FYNLO_*
// environment variables (flags win). The zero-configuration defaults run a
// working server on SQLite in ./fynlo-data.
type Config struct {
	Addr             string        // FYNLO_ADDR
	DataDir          string        // FYNLO_DATA_DIR
	DatabaseURL      string        // FYNLO_DATABASE_URL
	LogLevel         slog.Level    // FYNLO_LOG_LEVEL
	KeysDir          string        // FYNLO_KEYS_DIR
	CORSOrigins      []string      // FYNLO_CORS_ORIGINS
	MaxBodyBytes     int64         // FYNLO_MAX_BODY_BYTES
	AccessTokenTTL   time.Duration // FYNLO_ACCESS_TOKEN_TTL
	TrustProxy       bool          // FYNLO_TRUST_PROXY
	DBMaxConns       int           // FYNLO_DB_MAX_CONNS
	ShutdownTimeout  time.Duration // FYNLO_SHUTDOWN_TIMEOUT
	AutoMigrate      bool          // FYNLO_AUTO_MIGRATE
	SMTPURL          string        // FYNLO_SMTP_URL
	MetricsToken     string        // FYNLO_METRICS_TOKEN
	Demo             bool          // FYNLO_DEMO
	PlatformAdmins   []string      // FYNLO_PLATFORM_ADMINS
	StripeAPIBase    string        // FYNLO_STRIPE_API_BASE
	PublicURL        string        // FYNLO_PUBLIC_URL
	RedisURL         string        // FYNLO_REDIS_URL
	BankExpiry       time.Duration // FYNLO_OPEN_BANKING_EXPIRY
	ApplePayRoots    string        // FYNLO_APPLE_PAY_ROOTS
	IdempotencyLease time.Duration // FYNLO_IDEMPOTENCY_LEASE

	// ApplePayGatewayHosts and ApplePayGatewayRoots replace Apple's
	// merchant validation gateways and the system's roots; not flags, for
	// tests.
	ApplePayGatewayHosts []string
	ApplePayGatewayRoots *x509.CertPool
	// TrueLayerBase replaces TrueLayer's auth, API and payment-page
	// addresses, and TrueLayerJWKS its webhook keys; not flags, for tests
	// against a fake TrueLayer.
	TrueLayerBase string
	TrueLayerJWKS []string
	// BankPoll is how often the sweep asks a bank about a payment whose
	// webhooks are slow; 0 is 20 seconds. Not a flag, for tests.
	BankPoll time.Duration

	// ReadHeaderTimeout and ReadTimeout bound how long a client may take
	// to send its headers, and its whole request (0: 10s and 30s); not
	// flags, for tests of slow clients.
	ReadHeaderTimeout, ReadTimeout time.Duration

	// PasswordCost overrides the argon2id cost; not a flag, for tests.
	PasswordCost *auth.PasswordParams
}

// setting documents one configuration knob; the README's table is this list.
type setting struct {
	name, env, def, usage string
}

var settings = []setting{
	{"addr", "FYNLO_ADDR", ":8080", "listen address (host:port)"},
	{"data-dir", "FYNLO_DATA_DIR", "./fynlo-data", "directory for the SQLite database and generated signing keys"},
	{"database-url", "FYNLO_DATABASE_URL", "", "postgres:// URL to run on PostgreSQL; empty means SQLite in the data directory"},
	{"log-level", "FYNLO_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"keys-dir", "FYNLO_KEYS_DIR", "", "directory of Ed25519 PEM signing keys (newest file name signs, all verify); default DATA_DIR/keys, generated on first start; share it between nodes"},
	{"cors-origins", "FYNLO_CORS_ORIGINS", "", "comma-separated browser origins allowed to call the API, or *"},
	{"max-body-bytes", "FYNLO_MAX_BODY_BYTES", "1048576", "largest request body accepted (413 above)"},
	{"access-token-ttl", "FYNLO_ACCESS_TOKEN_TTL", "15m", "lifetime of access tokens"},
	{"trust-proxy", "FYNLO_TRUST_PROXY", "false", "take the client address from X-Forwarded-For (only behind your own load balancer)"},
	{"db-max-conns", "FYNLO_DB_MAX_CONNS", "16", "database connection pool size"},
	{"shutdown-timeout", "FYNLO_SHUTDOWN_TIMEOUT", "20s", "how long a stopping server waits for requests in flight"},
	{"auto-migrate", "FYNLO_AUTO_MIGRATE", "true", "apply database migrations when serve starts"},
	{"demo", "FYNLO_DEMO", "false", "seed the demo restaurant on start if it is not there (sign-ins in the README)"},
	{"platform-admins", "FYNLO_PLATFORM_ADMINS", "", "comma-separated user IDs (usr_…) of Fynlo's own staff accounts who may read platform-wide figures (platform revenue)"},
	{"stripe-api-base", "FYNLO_STRIPE_API_BASE", "", "Stripe's API address; empty for Stripe's own (set it to reach stripe-mock or a proxy)"},
	{"redis-url", "FYNLO_REDIS_URL", "", "redis:// (or unix://) URL joining several nodes on one PostgreSQL: live events reach every node's WebSocket clients and rate limits hold across nodes; empty for a single node"},
	{"public-url", "FYNLO_PUBLIC_URL", "", "this server's address as phones on the network reach it, e.g. http://192.168.1.20:8080 (open-banking QR codes of the sandbox bank point there); empty: the address each request came to"},
	{"open-banking-expiry", "FYNLO_OPEN_BANKING_EXPIRY", "15m", "how long an open-banking QR code waits for the guest to approve before it expires and the POS offers card"},
	{"idempotency-lease", "FYNLO_IDEMPOTENCY_LEASE", "30s", "how long a request holds its Idempotency-Key without renewing it (it renews every third of this while it runs): after a crash, a retry waits at most this long"},
	{"apple-pay-roots", "FYNLO_APPLE_PAY_ROOTS", "", "PEM file of the roots Apple Pay token signatures must chain to; empty for Apple Root CA - G3 (built in)"},
	{"metrics-token", "FYNLO_METRICS_TOKEN", "", "bearer token a scraper must send to read /metrics; empty: /metrics answers only requests from this machine or a private network that came through no proxy"},
	{"smtp-url", "FYNLO_SMTP_URL", "", "smtp://user:password@host:port?from=address for outgoing mail (password resets); empty logs mail instead"},
}

// settingValue holds a setting as given; on/off settings may be given as
// a bare flag (-demo), as the flag package does for booleans.
type settingValue struct {
	s       string
	boolean bool
}

func (v *settingValue) String() string     { return v.s }
func (v *settingValue) Set(s string) error { v.s = s; return nil }
func (v *settingValue) IsBoolFlag() bool   { return v.boolean }

// ParseConfig reads flags from args, with defaults from getenv.
func ParseConfig(name string, args []string, getenv func(string) string) (Config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	c, err := ParseConfigFlags(fs, args, getenv)
	if err == nil && fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return c, err
}

// ParseConfigFlags is ParseConfig for a command with flags and arguments of
// its own: it adds the settings to fs, parses, and leaves fs.Args() alone.
func ParseConfigFlags(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, error) {
	vals := map[string]*settingValue{}
	for _, s := range settings {
		v := &settingValue{s: s.def, boolean: s.def == "true" || s.def == "false"}
		if e := getenv(s.env); e != "" {
			v.s = e
		}
		vals[s.name] = v
		fs.Var(v, s.name, s.usage+" ["+s.env+"]")
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	get := func(n string) string { return strings.TrimSpace(vals[n].s) }

	var errs []error
	bad := func(n, why string) { errs = append(errs, fmt.Errorf("-%s / %s: %s", n, envOf(n), why)) }
	c := Config{Addr: get("addr"), DataDir: get("data-dir"), DatabaseURL: get("database-url"), KeysDir: get("keys-dir"), SMTPURL: get("smtp-url"), MetricsToken: get("metrics-token"),
		StripeAPIBase: get("stripe-api-base"), PublicURL: get("public-url"), RedisURL: get("redis-url"), ApplePayRoots: get("apple-pay-roots")}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") && !strings.HasPrefix(c.RedisURL, "unix://") {
		bad("redis-url", "must be a redis://, rediss:// or unix:// URL")
	}
	if c.PublicURL != "" && !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://") {
		bad("public-url", "must be an http:// or https:// URL")
	}
	if c.StripeAPIBase != "" && !strings.HasPrefix(c.StripeAPIBase, "http://") && !strings.HasPrefix(c.StripeAPIBase, "https://") {
		bad("stripe-api-base", "must be an http:// or https:// URL")
	}
	if c.SMTPURL != "" {
		if _, err := smtp.NewSMTPSender(c.SMTPURL); err != nil {
			bad("smtp-url", err.Error())
		}
	}
	if c.Addr == "" {
		bad("addr", "must not be empty")
	}
	if c.DataDir == "" {
		bad("data-dir", "must not be empty")
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		bad("database-url", "must be a postgres:// URL (leave it empty for SQLite)")
	}
	if c.KeysDir == "" {
		c.KeysDir = filepath.Join(c.DataDir, "keys")
	}
	if err := c.LogLevel.UnmarshalText([]byte(get("log-level"))); err != nil {
		bad("log-level", "must be debug, info, warn or error")
	}
	for _, e := range strings.Split(get("platform-admins"), ",") {
		if e = strings.TrimSpace(e); e != "" {
			if !strings.HasPrefix(e, "usr_") {
				bad("platform-admins", "must be user IDs (usr_…), comma-separated")
			}
			c.PlatformAdmins = append(c.PlatformAdmins, e)
		}
	}
	for _, o := range strings.Split(get("cors-origins"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.CORSOrigins = append(c.CORSOrigins, o)
		}
	}
	var err error
	if c.MaxBodyBytes, err = strconv.ParseInt(get("max-body-bytes"), 10, 64); err != nil || c.MaxBodyBytes < 1024 {
		bad("max-body-bytes", "must be a whole number of bytes, at least 1024")
	}
	if c.AccessTokenTTL, err = time.ParseDuration(get("access-token-ttl")); err != nil || c.AccessTokenTTL < time.Minute || c.AccessTokenTTL > 24*time.Hour {
		bad("access-token-ttl", "must be a duration between 1m and 24h, e.g. 15m")
	}
	if c.TrustProxy, err = strconv.ParseBool(get("trust-proxy")); err != nil {
		bad("trust-proxy", "must be true or false")
	}
	if c.DBMaxConns, err = strconv.Atoi(get("db-max-conns")); err != nil || c.DBMaxConns < 1 || c.DBMaxConns > 1000 {
		bad("db-max-conns", "must be a number from 1 to 1000")
	}
	if c.BankExpiry, err = time.ParseDuration(get("open-banking-expiry")); err != nil || c.BankExpiry < time.Second || c.BankExpiry > 24*time.Hour {
		bad("open-banking-expiry", "must be a duration between 1s and 24h, e.g. 15m")
	}
	if c.IdempotencyLease, err = time.ParseDuration(get("idempotency-lease")); err != nil || c.IdempotencyLease < 300*time.Millisecond || c.IdempotencyLease > time.Hour {
		bad("idempotency-lease", "must be a duration between 300ms and 1h, e.g. 30s")
	}
	if c.ShutdownTimeout, err = time.ParseDuration(get("shutdown-timeout")); err != nil || c.ShutdownTimeout < 0 {
		bad("shutdown-timeout", "must be a duration such as 20s")
	}
	if c.AutoMigrate, err = strconv.ParseBool(get("auto-migrate")); err != nil {
		bad("auto-migrate", "must be true or false")
	}
	if c.Demo, err = strconv.ParseBool(get("demo")); err != nil {
		bad("demo", "must be true or false")
	}
	return c, errors.Join(errs...)
}

func envOf(name string) string {
	for _, s := range settings {
		if s.name == name {
			return s.env
		}
	}
	return ""
}

// DatabaseDSN is what sqlstore.Open takes: the PostgreSQL URL, or the
// SQLite file in the data directory.
func (c Config) DatabaseDSN() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return filepath.Join(c.DataDir, "fynlo.db")
}

// ConfigTable renders the settings as a Markdown table, for the README.
func ConfigTable() string {
	var b strings.Builder
	b.WriteString("| Flag | Environment | Default | Meaning |\n|---|---|---|---|\n")
	for _, s := range settings {
		def := s.def
		if def == "" {
			def = "—"
		}
		fmt.Fprintf(&b, "| `-%s` | `%s` | `%s` | %s |\n", s.name, s.env, def, s.usage)
	}
	return b.String()
}
