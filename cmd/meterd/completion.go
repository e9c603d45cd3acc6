package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/meterd/meterd/server"
)

// runCompletion is meterd completion bash|zsh|fish: the shell completion
// script, for commands, verbs and flags.
func runCompletion(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("meterd completion", "bash|zsh|fish", stdout, stderr)
	return c.exit(printCompletion(ctx, c, args))
}

func printCompletion(ctx context.Context, c *cli, args []string) error {
	fs := c.bareFlags("Prints the shell completion script of meterd's commands, verbs and flags:\n" +
		"  bash: source <(meterd completion bash)          (or save it in /etc/bash_completion.d/meterd)\n" +
		"  zsh:  source <(meterd completion zsh)           (in ~/.zshrc)\n" +
		"  fish: meterd completion fish | source          (or save it in ~/.config/fish/completions/meterd.fish)")
	pos, err := c.parse(fs, args, 1)
	if err != nil {
		return err
	}
	w := collectWords(ctx)
	var script string
	switch pos[0] {
	case "bash":
		script = bashCompletion(w)
	case "zsh":
		// zsh runs the bash function through its bash completion layer.
		script = "#compdef meterd\nautoload -U +X bashcompinit && bashcompinit\n" + bashCompletion(w)
	case "fish":
		script = fishCompletion(w)
	default:
		return c.usagef("%q is not bash, zsh or fish", pos[0])
	}
	_, err = io.WriteString(c.stdout, script)
	return err
}

// words are what the shells complete: the commands, the verbs of each noun
// and the flags of each command or verb (keyed "noun verb" or "command").
type words struct {
	commands []string
	verbs    map[string][]string
	flags    map[string][]string
}

var (
	// usageCommand is a command in meterd's usage: "  meterd serve ..." or
	// "  accounts     list | ...".
	usageCommand = regexp.MustCompile(`(?m)^  (?:meterd )?([a-z][a-z-]+)(?:  | \S|$)`)
	usageFlag    = regexp.MustCompile(`(?m)^  -([a-z][a-z0-9-]*)`)
)

// collectWords reads the words from the help texts, the same ones the
// commands print, so that completion offers what --help documents.
func collectWords(ctx context.Context) words {
	help := func(args ...string) string {
		var out bytes.Buffer
		run(ctx, append(args, "--help"), &out, &out)
		return out.String()
	}
	w := words{verbs: map[string][]string{}, flags: map[string][]string{}}
	top := usage[strings.Index(usage, "Usage:"):strings.Index(usage, "\nEvery CLI verb")]
	for _, m := range usageCommand.FindAllStringSubmatch(top, -1) {
		if cmd := m[1]; cmd != "meterd" && !slices.Contains(w.commands, cmd) {
			w.commands = append(w.commands, cmd)
		}
	}
	w.commands = append(w.commands, "help")
	for _, cmd := range w.commands {
		switch cmd {
		case "help":
			continue
		case "serve":
			w.flags[cmd] = serveFlags()
			continue
		case "completion":
			w.verbs[cmd] = []string{"bash", "zsh", "fish"}
			continue
		}
		text := help(cmd)
		verbLine := regexp.MustCompile(`(?m)^  meterd ` + regexp.QuoteMeta(cmd) + ` ([a-z][a-z-]*)`)
		for _, m := range verbLine.FindAllStringSubmatch(text, -1) {
			if v := m[1]; !slices.Contains(w.verbs[cmd], v) {
				w.verbs[cmd] = append(w.verbs[cmd], v)
				w.flags[cmd+" "+v] = flagWords(help(cmd, v))
			}
		}
		if len(w.verbs[cmd]) == 0 {
			w.flags[cmd] = flagWords(text)
		}
	}
	return w
}

// flagWords are the --flags of a flag package usage text.
func flagWords(text string) []string {
	var flags []string
	for _, m := range usageFlag.FindAllStringSubmatch(text, -1) {
		flags = append(flags, "--"+m[1])
	}
	return flags
}

// serveFlags are meterd serve's flags, from its flag set (its --help goes
// to the process's stderr).
func serveFlags() []string {
	cfg := server.DefaultConfig()
	var flags []string
	cfg.FlagSet().VisitAll(func(f *flag.Flag) { flags = append(flags, "--"+f.Name) })
	return flags
}

// bashCompletion is the bash script: complete -F _meterd meterd.
func bashCompletion(w words) string {
	var b strings.Builder
	b.WriteString("# meterd completion for bash; load with: source <(meterd completion bash)\n")
	b.WriteString("_meterd() {\n")
	b.WriteString("\tlocal cur=\"${COMP_WORDS[COMP_CWORD]}\" cmd=\"${COMP_WORDS[1]}\" words=\"\"\n")
	fmt.Fprintf(&b, "\tif [ \"$COMP_CWORD\" -eq 1 ]; then\n\t\twords=%q\n", strings.Join(w.commands, " "))
	b.WriteString("\telif [ \"$COMP_CWORD\" -eq 2 ]; then\n\t\tcase \"$cmd\" in\n")
	for _, cmd := range w.commands {
		if v := w.verbs[cmd]; len(v) > 0 {
			fmt.Fprintf(&b, "\t\t%s) words=%q ;;\n", cmd, strings.Join(v, " "))
		} else if f := w.flags[cmd]; len(f) > 0 {
			fmt.Fprintf(&b, "\t\t%s) words=%q ;;\n", cmd, strings.Join(f, " "))
		}
	}
	b.WriteString("\t\tesac\n\telse\n\t\tcase \"$cmd ${COMP_WORDS[2]}\" in\n")
	for _, cmd := range w.commands {
		for _, v := range w.verbs[cmd] {
			if f := w.flags[cmd+" "+v]; len(f) > 0 {
				fmt.Fprintf(&b, "\t\t%q) words=%q ;;\n", cmd+" "+v, strings.Join(f, " "))
			}
		}
		if f := w.flags[cmd]; len(f) > 0 {
			fmt.Fprintf(&b, "\t\t\"%s \"*) words=%q ;;\n", cmd, strings.Join(f, " "))
		}
	}
	b.WriteString("\t\tesac\n\tfi\n")
	b.WriteString("\tCOMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n}\n")
	b.WriteString("complete -o default -F _meterd meterd\n")
	return b.String()
}

// fishCompletion is the fish script: one complete line per word.
func fishCompletion(w words) string {
	var b strings.Builder
	b.WriteString("# meterd completion for fish; load with: meterd completion fish | source\n")
	b.WriteString("complete -c meterd -f\n")
	fmt.Fprintf(&b, "complete -c meterd -n '__fish_use_subcommand' -a '%s'\n", strings.Join(w.commands, " "))
	for _, cmd := range w.commands {
		if v := w.verbs[cmd]; len(v) > 0 {
			verbs := strings.Join(v, " ")
			fmt.Fprintf(&b, "complete -c meterd -n '__fish_seen_subcommand_from %s; and not __fish_seen_subcommand_from %s' -a '%s'\n", cmd, verbs, verbs)
			for _, verb := range v {
				for _, f := range w.flags[cmd+" "+verb] {
					fmt.Fprintf(&b, "complete -c meterd -n '__fish_seen_subcommand_from %s; and __fish_seen_subcommand_from %s' -l %s\n", cmd, verb, strings.TrimPrefix(f, "--"))
				}
			}
		}
		for _, f := range w.flags[cmd] {
			fmt.Fprintf(&b, "complete -c meterd -n '__fish_seen_subcommand_from %s' -l %s\n", cmd, strings.TrimPrefix(f, "--"))
		}
	}
	return b.String()
}
