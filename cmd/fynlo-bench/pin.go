package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"time"
)

// pinConfig is the pin scenario's flags.
type pinConfig struct {
	devices, perDevice int
	interval           time.Duration
}

// pinResult is the pin scenario's JSON summary.
type pinResult struct {
	Server  string        `json:"server"`
	Devices int           `json:"devices"`
	SignIns durationStats `json:"sign_ins"`
	Target  string        `json:"target"`
	Met     bool          `json:"target_met"`
}

func setupPIN(fs *flag.FlagSet, c *common) runFunc {
	var cfg pinConfig
	c.register(fs, true)
	fs.IntVar(&cfg.devices, "devices", 8, "iPads to pair (pairing is rate-limited per address: at most 10 at once)")
	fs.IntVar(&cfg.perDevice, "per-device", 10, "PIN sign-ins per device (each device's burst allowance is 10)")
	fs.DurationVar(&cfg.interval, "interval", 250*time.Millisecond, "pause between sign-ins (the address's allowance refills at 5 a second)")
	return func(ctx context.Context) (any, error) { return runPIN(ctx, c, cfg) }
}

// runPIN pairs devices, gives an employee a PIN and times sequential PIN
// sign-ins: the keyed-hash lookup, the attempt counter's locked update and
// the audit entry, end to end over HTTP.
func runPIN(ctx context.Context, c *common, cfg pinConfig) (*pinResult, error) {
	t, err := openTarget(ctx, c)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	api := newAPIClient(t.URL)
	if _, err := api.signup(ctx); err != nil {
		return nil, err
	}
	var locs struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := api.call(ctx, http.MethodGet, "/api/v1/locations", nil, &locs, http.StatusOK); err != nil {
		return nil, err
	}
	loc := locs.Items[0].ID
	if err := api.call(ctx, http.MethodPost, "/api/v1/employees", map[string]any{"name": "Bench Server", "pin": "4821",
		"roles": []map[string]string{{"location_id": loc, "role_id": "server"}}}, nil, http.StatusCreated); err != nil {
		return nil, err
	}
	var tokens []string
	for i := 0; i < cfg.devices; i++ {
		var reg struct {
			Code string `json:"pairing_code"`
		}
		if err := api.call(ctx, http.MethodPost, "/api/v1/devices", map[string]string{"location_id": loc, "name": fmt.Sprintf("iPad %d", i+1)},
			&reg, http.StatusCreated); err != nil {
			return nil, err
		}
		var paired struct {
			Token string `json:"device_token"`
		}
		if err := api.call(ctx, http.MethodPost, "/api/v1/devices/pair", map[string]string{"code": reg.Code}, &paired, http.StatusOK); err != nil {
			return nil, err
		}
		tokens = append(tokens, paired.Token)
	}
	var took []time.Duration
	for round := 0; round < cfg.perDevice; round++ {
		for _, tok := range tokens {
			dev := newAPIClient(t.URL)
			dev.token = tok
			start := time.Now()
			if err := dev.call(ctx, http.MethodPost, "/api/v1/auth/pin", map[string]string{"pin": "4821"}, nil, http.StatusOK); err != nil {
				return nil, err
			}
			took = append(took, time.Since(start))
			time.Sleep(cfg.interval)
		}
	}
	res := &pinResult{Server: t.describe(), Devices: cfg.devices, SignIns: summarize(took), Target: "p99 < 100 ms"}
	res.Met = res.SignIns.P99MS < 100
	c.printf("pin: %d devices × %d sequential PIN sign-ins, %v apart, against %s\n", cfg.devices, cfg.perDevice, cfg.interval, res.Server)
	c.printf("  sign-in: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (n=%d)\n",
		res.SignIns.P50MS, res.SignIns.P90MS, res.SignIns.P99MS, res.SignIns.MaxMS, res.SignIns.N)
	c.printf("  target PIN sign-in p99 < 100 ms: %s\n", verdict(res.Met))
	return res, nil
}
