// Command meterd is a self-hosted AWS Marketplace Metering Service: the
// server (meterd serve) and the CLI that talks to its admin API.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes: 0 ok, 1 error, 2 usage.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one meterd command and returns its exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		args = []string{"serve"}
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "bench":
		return runBench(ctx, args[1:], stdout, stderr)
	case "accounts":
		return runAccounts(ctx, args[1:], stdout, stderr)
	case "keys":
		return runKeys(ctx, args[1:], stdout, stderr)
	case "products":
		return runProducts(ctx, args[1:], stdout, stderr)
	case "customers":
		return runCustomers(ctx, args[1:], stdout, stderr)
	case "tokens":
		return runTokens(ctx, args[1:], stdout, stderr)
	case "publickeys":
		return runPublicKeys(ctx, args[1:], stdout, stderr)
	case "usage":
		return runUsage(ctx, args[1:], stdout, stderr)
	case "clock":
		return runClock(ctx, args[1:], stdout, stderr)
	case "offers":
		return runOffers(ctx, args[1:], stdout, stderr)
	case "agreements":
		return runAgreements(ctx, args[1:], stdout, stderr)
	case "buyers":
		return runBuyers(ctx, args[1:], stdout, stderr)
	case "entitlements":
		return runEntitlements(ctx, args[1:], stdout, stderr)
	case "events":
		return runEvents(ctx, args[1:], stdout, stderr)
	case "reset":
		return runReset(ctx, args[1:], stdout, stderr)
	case "faults":
		return runFaults(ctx, args[1:], stdout, stderr)
	case "admin-tokens":
		return runAdminTokens(ctx, args[1:], stdout, stderr)
	case "backup":
		return runBackup(ctx, args[1:], stdout, stderr)
	case "restore":
		return runRestore(ctx, args[1:], stdout, stderr)
	case "relay":
		return runRelay(ctx, args[1:], stdout, stderr)
	case "queues":
		return runQueues(ctx, args[1:], stdout, stderr)
	case "subscriptions":
		return runSubscriptions(ctx, args[1:], stdout, stderr)
	case "rules":
		return runRules(ctx, args[1:], stdout, stderr)
	case "deliveries":
		return runDeliveries(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		return runVersion(ctx, args[1:], stdout, stderr)
	case "healthcheck":
		return runHealthcheck(ctx, args[1:], stdout, stderr)
	case "env":
		return runEnv(ctx, args[1:], stdout, stderr)
	case "completion":
		return runCompletion(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "meterd: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

const usage = `meterd: a self-hosted AWS Marketplace Metering Service.

Usage:
  meterd serve [flags]           run the server (the default)
  meterd <noun> <verb> [flags]   the CLI, talking to a running server's admin API
  meterd version [--output json] the version, commit, Go version and OS/arch
  meterd healthcheck [--server URL]   exit 0 when the server is ready (for container health checks)
  meterd env [--server URL] [--shell sh|fish] [--output json]   the variables that point AWS clients at it
  meterd completion bash|zsh|fish     the shell completion script

Nouns of the CLI:
  accounts     list | create --id ID [--name N]
  keys         list | create --account ID [--id K --secret S] | delete K
  products     list | show CODE | create --code C --seller ID --type T --dimension NAME[:UNIT[:PRICE]]...
  customers    list | subscribe | unsubscribe | set-status   (--product C ...)
  tokens       create --product C --customer X [--ttl 4h]   (prints only the token)
  publickeys   list | rotate --product C                    (public keys in PEM)
  usage        list | summary [--by G] | export --format json|csv|jsonl   (filters: --product
               --customer --dimension --tag K=V --from T --to T)
  faults       list | clear | delete ID | add --operation OP [match flags] (--error CODE |
               --unprocessed F | --latency D | --drop-response) [--probability P] [--count N]
  clock        show | set TIME | advance DURATION | reset
  offers       list [--product C] | show ID | create --product C --pricing P [--duration P12M=DIM:PRICE,...] ...
  agreements   list [--product C] [--buyer A] [--status S] | show ID | terms ID | accept --buyer A --offer O
               [--duration P12M] [--quantity DIM=N]... [--no-auto-renew] [--start T] [--trial] [--fail]
               | amend ID [--quantity DIM=N]... [--auto-renew=B] | replace ID --offer O ... | cancel ID | terminate ID
  buyers       purchase --buyer A --offer O [...same as agreements accept]   (prints the registration form)
  entitlements list --product C [--customer X | --aws-account-id N] [--license ARN]
  events       list [--product C] [--type T] | tail         (the outbox; tail prints JSON lines until Ctrl-C)
  reset        --yes                                        (delete all usage, accounts, products, customers; re-apply the catalog)
  backup       --to FILE                                    (online copy of a SQLite store, through the server)
  restore      --from FILE [--data DIR]                     (server stopped: put a backup in place)
  admin-tokens list | create --name N --role admin|read-only | revoke NAME   (create prints only the token)
  relay        serve [--upstream-endpoint URL] [--products C,...] | status | report [--from T --to T]
               (the seller-side outbox: raw usage events to hourly BatchMeterUsage, exactly once)
  bench        [flags]                                      (load generator)
  queues       list | create --account A --name N | receive N [--wait 20s] | purge N   (SQS-compatible)
  subscriptions list | create --product C --topic subscription|entitlement --protocol http|https|sqs
               --endpoint E [--raw] [--signature-version 1|2] [--insecure-skip-verify] | delete ID
  rules        list | create --account A --detail-type T... --protocol P --endpoint E [--header N=V] | delete ID
  deliveries   list [--failed] | retry ID                   (lifecycle notifications sent, pending, failed)

Every CLI verb takes --server URL (default http://127.0.0.1:4579, env METERD_SERVER),
--admin-token-file F or --admin-token T (default: env METERD_ADMIN_TOKEN, else the file
named by METERD_ADMIN_TOKEN_FILE, else <--data>/admin-token, --data default ./meterd-data)
and --output table|json|csv; a token on the command line is visible to other local users. Times are RFC 3339, durations
Go durations (90s, 2h). Exit codes: 0 ok, 1 error, 2 usage.

Run "meterd serve --help", "meterd <noun> --help" or "meterd <noun> <verb> --help" for more.
`
