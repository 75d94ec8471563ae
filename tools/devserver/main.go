// temporal-devserver: a Temporal development server built from go.temporal.io/server v1.32,
// for the one server feature the kit shows that Temporal CLI v1.5.1 (server 1.29) lacks:
// describe() summing the external_payloads marks of a workflow's references into
// external_payload_count and external_payload_size_bytes (dynamic config
// history.externalPayloadsEnabled), and the Web UI showing them.
//
// It takes the flags of `temporal server start-dev` that the kit uses, so the kit starts it
// the same way: temporal-devserver [server start-dev] --ip IP --port N ...
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/google/uuid"
)

type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "temporal-devserver:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	// Accept `server start-dev` in front, so the command line matches the CLI's.
	for len(args) > 0 && (args[0] == "server" || args[0] == "start-dev") {
		args = args[1:]
	}
	flags := flag.NewFlagSet("temporal-devserver", flag.ContinueOnError)
	flags.Usage = func() {
		fmt.Fprintf(flags.Output(), "Usage: temporal-devserver [server start-dev] [flags]\n\n"+
			"A Temporal dev server (in-memory SQLite) built from %s, with the Web UI %s.\n\nFlags:\n",
			moduleVersion("go.temporal.io/server"), moduleVersion("github.com/temporalio/ui-server/v2"))
		flags.PrintDefaults()
	}
	var namespaces, dynamicConfig repeated
	ip := flags.String("ip", "127.0.0.1", "IP address the frontend and the UI bind to")
	port := flags.Int("port", 7233, "frontend gRPC port")
	httpPort := flags.Int("http-port", 0, "frontend HTTP port (0: a free one)")
	metricsPort := flags.Int("metrics-port", 0, "Prometheus metrics port (0: a free one)")
	uiPort := flags.Int("ui-port", 0, "Web UI port (0: --port + 1000)")
	headless := flags.Bool("headless", false, "do not serve the Web UI")
	codecEndpoint := flags.String("ui-codec-endpoint", "", "codec server the Web UI decodes payloads with")
	dbFile := flags.String("db-filename", "", "SQLite file to keep state in (default: in memory)")
	logLevel := flags.String("log-level", "warn", "debug, info, warn, error or never")
	version := flags.Bool("version", false, "print the versions and exit")
	flags.Var(&namespaces, "namespace", "another namespace to create besides 'default' (repeatable)")
	flags.Var(&dynamicConfig, "dynamic-config-value", "KEY=JSON dynamic config value (repeatable)")
	if err := flags.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil
		}
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (see --help)", flags.Args())
	}
	if *version {
		fmt.Printf("temporal-devserver (Server %s, UI %s)\n",
			strings.TrimPrefix(moduleVersion("go.temporal.io/server"), "v"),
			strings.TrimPrefix(moduleVersion("github.com/temporalio/ui-server/v2"), "v"))
		return nil
	}
	if *ip == "localhost" {
		*ip = "127.0.0.1"
	}

	opts := StartOptions{
		FrontendIP:             *ip,
		FrontendPort:           *port,
		FrontendHTTPPort:       *httpPort,
		MetricsPort:            *metricsPort,
		Namespaces:             append([]string{"default"}, namespaces...),
		DatabaseFile:           *dbFile,
		ClusterID:              uuid.NewString(),
		MasterClusterName:      "active",
		CurrentClusterName:     "active",
		InitialFailoverVersion: 1,
		// The handler passes everything; LogLevel below decides what the server logs.
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})),
		DynamicConfigValues: map[string]any{
			// The CLI's own defaults for its dev server.
			"system.forceSearchAttributesCacheRefreshOnRead": true,
			"system.forceNexusEndpointRefreshOnRead":         true,
			"frontend.persistenceMaxQPS":                     10000,
			"history.persistenceMaxQPS":                      45000,
		},
	}
	if *logLevel == "never" {
		opts.LogLevel = 100
	} else if err := opts.LogLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("invalid --log-level %q: %w", *logLevel, err)
	}
	for _, pair := range dynamicConfig {
		key, value, err := parseDynamicConfig(pair)
		if err != nil {
			return err
		}
		opts.DynamicConfigValues[key] = value
	}
	if err := CheckPortFree(opts.FrontendIP, opts.FrontendPort); err != nil {
		return fmt.Errorf("can't use frontend port %d: %w", opts.FrontendPort, err)
	}
	if opts.MetricsPort == 0 {
		opts.MetricsPort = MustGetFreePort(opts.FrontendIP)
	}
	if !*headless {
		opts.UIIP, opts.UIPort = opts.FrontendIP, *uiPort
		if opts.UIPort == 0 {
			opts.UIPort = min(opts.FrontendPort+1000, 65535)
		}
		if err := CheckPortFree(opts.UIIP, opts.UIPort); err != nil {
			return fmt.Errorf("can't use UI port %d: %w", opts.UIPort, err)
		}
		opts.UICodecEndpoint = *codecEndpoint
		opts.UIDisableNewsFetch = true
	}

	server, err := Start(opts)
	if err != nil {
		return fmt.Errorf("failed starting server: %w", err)
	}
	fmt.Printf("%-21s %v:%v\n", "Temporal Server:", opts.FrontendIP, opts.FrontendPort)
	if !*headless {
		fmt.Printf("%-21s http://%v:%v\n", "Temporal UI:", opts.UIIP, opts.UIPort)
	}
	fmt.Printf("%-21s http://%v:%v/metrics\n", "Temporal Metrics:", opts.FrontendIP, opts.MetricsPort)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	<-stop
	server.SuppressWarnings()
	server.Stop()
	return nil
}

// parseDynamicConfig reads KEY=JSON; whole numbers become int, the type dynamic config expects.
func parseDynamicConfig(pair string) (string, any, error) {
	key, raw, ok := strings.Cut(pair, "=")
	if !ok || key == "" {
		return "", nil, fmt.Errorf("--dynamic-config-value %q: want KEY=JSON", pair)
	}
	decoder := json.NewDecoder(strings.NewReader(raw))
	decoder.UseNumber()
	var value any
	if err := decoder.Decode(&value); err != nil {
		return "", nil, fmt.Errorf("--dynamic-config-value %q: the value is not JSON: %w", pair, err)
	}
	if rest := strings.TrimSpace(raw[decoder.InputOffset():]); rest != "" {
		return "", nil, fmt.Errorf("--dynamic-config-value %q: the value is not JSON: %q after it", pair, rest)
	}
	if number, ok := value.(json.Number); ok {
		if whole, err := number.Int64(); err == nil {
			return key, int(whole), nil
		}
		float, err := number.Float64()
		if err != nil {
			return "", nil, fmt.Errorf("--dynamic-config-value %q: %w", pair, err)
		}
		return key, float, nil
	}
	return key, value, nil
}

func moduleVersion(path string) string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == path {
				return dep.Version
			}
		}
	}
	return "unknown"
}
