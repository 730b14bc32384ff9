package dockerfix

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/fix"
)

// TestFixableChecks: every ID in Fixable is a registered Dockerfile check.
func TestFixableChecks(t *testing.T) {
	for _, id := range Fixable {
		c := checks.Registry().Get(id)
		if c == nil || c.Target != check.Dockerfiles {
			t.Errorf("Fixable names %q, which is no Dockerfile check", id)
		}
	}
}

// TestSeed003 is the acceptance test: seed 003's Dockerfile, with the tag
// its hardened version pins, comes out with the seed's FROM line (tag and
// digest), the exec-form CMD, the alpine user-creation line and a high
// numeric USER. (The seed's first Dockerfile says FROM python:3-alpine;
// its result pins python:3.9-alpine3.15, whose digest it prints. The fix
// keeps the tag as written, so this golden starts from that tag; the
// seed003 golden is the first Dockerfile verbatim.)
func TestSeed003(t *testing.T) {
	out, err := os.ReadFile(filepath.Join("testdata", "seed003-pinned-tag", "after"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(out), "\n")
	if want := "FROM python:3.9-alpine3.15@" + seedDigest; lines[0] != want {
		t.Errorf("FROM line:\ngot  %s\nwant %s (seed 003's result)", lines[0], want)
	}
	for _, want := range []string{
		`CMD ["python3", "app.py"]`,
		"RUN addgroup -S -g 50000 app && adduser -S -D -H -u 50000 -G app -s /sbin/nologin app",
		"USER 50000:50000",
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("no line %q in:\n%s", want, out)
		}
	}
	// The USER comes after the RUN that installs packages, as in the seed.
	if slices.Index(lines, "USER 50000:50000") < slices.Index(lines, "RUN pip3 install -r requirements.txt") {
		t.Errorf("USER before the pip install:\n%s", out)
	}
}

func TestShellWords(t *testing.T) {
	for _, tc := range []struct {
		cmd  string
		argv []string
		why  string
	}{
		{cmd: "python3 app.py", argv: []string{"python3", "app.py"}},
		{cmd: "  /bin/app\t--port=8080  -v ", argv: []string{"/bin/app", "--port=8080", "-v"}},
		{cmd: "exec gunicorn app:app", argv: []string{"gunicorn", "app:app"}},
		{cmd: "node server.js --max-old-space-size=512 a,b +x @y 50%", argv: []string{"node", "server.js", "--max-old-space-size=512", "a,b", "+x", "@y", "50%"}},
		{cmd: "gunicorn -b 0.0.0.0:$PORT app", why: "($PORT)"},
		{cmd: "app ${PORT:-80}", why: "(${PORT:-80})"},
		{cmd: "app $(cat /port)", why: "($(...))"},
		{cmd: "app `cat /port`", why: "(`)"},
		{cmd: `app "a b"`, why: `(")`},
		{cmd: "app 'a b'", why: "(')"},
		{cmd: "app *.conf", why: "(*)"},
		{cmd: "app file?", why: "(?)"},
		{cmd: "app [ab]", why: "([)"},
		{cmd: "app {a,b}", why: "({)"},
		{cmd: "app ~/conf", why: "(~)"},
		{cmd: "app > /log", why: "(>)"},
		{cmd: "app 2>&1", why: "(>&)"},
		{cmd: "app < in", why: "(<)"},
		{cmd: "app | tee", why: "(|)"},
		{cmd: "a && b", why: "(&&)"},
		{cmd: "a || b", why: "(||)"},
		{cmd: "a; b", why: "(;)"},
		{cmd: "app &", why: "(&)"},
		{cmd: "(app)", why: "(()"},
		{cmd: "app # comment", why: "(#)"},
		{cmd: "app a\\ b", why: `(\)`},
		{cmd: "! app", why: "(!)"},
		{cmd: "FOO=1 app", why: "FOO=1 sets a variable"},
		{cmd: "cd /srv", why: "starts with cd"},
		{cmd: "exec", why: "starts with exec"},
		{cmd: "if", why: "starts with if"},
		{cmd: "source env.sh", why: "starts with source"},
		{cmd: "app café", why: `contains 'é'`},
		{cmd: `["app", 'x']`, why: "not valid JSON"},
		{cmd: "   ", why: "empty"},
	} {
		argv, why := shellWords(tc.cmd)
		if tc.why == "" && (why != "" || !slices.Equal(argv, tc.argv)) {
			t.Errorf("%q: got %q %q, want %q", tc.cmd, argv, why, tc.argv)
		}
		if tc.why != "" && !strings.Contains(why, tc.why) {
			t.Errorf("%q: got %q %q, want a reason with %q", tc.cmd, argv, why, tc.why)
		}
	}
}

func TestJSONArray(t *testing.T) {
	if got, want := jsonArray([]string{"python3", "app.py"}), `["python3", "app.py"]`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got, want := jsonArray([]string{`a"b\c`, "<&>"}), `["a\"b\\c", "<&>"]`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestUserDistro(t *testing.T) {
	for base, want := range map[string]distro{
		"alpine":                         alpine,
		"alpine:3.20":                    alpine,
		"docker.io/library/alpine:3.20":  alpine,
		"python:3.9-alpine3.15":          alpine,
		"node:lts-alpine3.19":            alpine,
		"golang:1.22-alpine":             alpine,
		"ubuntu:24.04":                   debian,
		"debian:bookworm-slim":           debian,
		"python:3.12-slim":               debian,
		"python":                         debian,
		"node:20":                        debian,
		"index.docker.io/library/ruby:3": debian,
		"python:3.12-windowsservercore":  otherDistro,
		"golang:1.22-nanoserver":         otherDistro,
		"gcr.io/distroless/static":       otherDistro,
		"bitnami/nginx:1.25":             otherDistro,
		"registry.example.com/alpine":    otherDistro,
		"ghcr.io/acme/app:1-alpine":      otherDistro,
		"golang:${GO}-alpine":            otherDistro,
		"$BASE":                          otherDistro,
		"centos:7":                       otherDistro,
		"scratch":                        otherDistro,
	} {
		if got := userDistro(base); got != want {
			t.Errorf("%s: got %d, want %d", base, got, want)
		}
	}
}

func TestNonrootBase(t *testing.T) {
	for base, want := range map[string]bool{
		"gcr.io/distroless/static-debian12:nonroot": true,
		"gcr.io/distroless/base":                    true,
		"cgr.dev/chainguard/static":                 true,
		"alpine":                                    false,
		"example.com/distroless-like":               false,
	} {
		if got := nonrootBase(base); got != want {
			t.Errorf("%s: got %v", base, got)
		}
	}
}

// TestEditAccount covers the user-creation commands the USER fix edits in
// place, and those it leaves to the risky rewrite of USER.
func TestEditAccount(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		// want is the RUN line after the fix; "" when USER is rewritten
		// alone (risky).
		want string
	}{
		{"busybox by name", "FROM alpine:3\nRUN addgroup -S g && adduser -S -G g u\nUSER u\n",
			"RUN addgroup -g 50000 -S g && adduser -u 50000 -S -G g u"},
		{"busybox ids replaced", "FROM alpine:3\nRUN addgroup -g 101 g && adduser -D -u 101 -G g u\nUSER u:g\n",
			"RUN addgroup -g 50000 g && adduser -D -u 50000 -G g u"},
		{"busybox attached values", "FROM alpine:3\nRUN addgroup -g101 g && adduser -Du101 -Gg u\nUSER 101\n",
			"RUN addgroup -g50000 g && adduser -Du50000 -Gg u"},
		{"busybox own group", "FROM alpine:3\nRUN adduser -D u\nUSER u\n",
			"RUN adduser -u 50000 -D u"},
		{"busybox system without group: nogroup", "FROM alpine:3\nRUN adduser -S -D u\nUSER u\n", ""},
		{"busybox on debian is not busybox", "FROM debian:12\nRUN addgroup g && adduser --ingroup g u\nUSER u\n", ""},
		{"shadow", "FROM debian:12\nRUN groupadd -r g && useradd -r -g g u\nUSER u\n",
			"RUN groupadd --gid 50000 -r g && useradd --uid 50000 -r -g g u"},
		{"shadow long options with values", "FROM debian:12\nRUN groupadd --gid=900 g && useradd --uid=900 --gid=g --shell=/bin/false u\nUSER u\n",
			"RUN groupadd --gid=50000 g && useradd --uid=50000 --gid=g --shell=/bin/false u"},
		{"shadow group in an earlier RUN", "FROM debian:12\nRUN groupadd g\nRUN useradd -g g u\nUSER u\n",
			"RUN useradd --uid 50000 -g g u"},
		{"shadow without -g", "FROM debian:12\nRUN useradd -m u\nUSER u\n", ""},
		{"shadow -D", "FROM debian:12\nRUN groupadd g && useradd -D -g g u\nUSER u\n", ""},
		{"unknown option", "FROM debian:12\nRUN groupadd g && useradd -X -g g u\nUSER u\n", ""},
		{"variable", "FROM alpine:3\nRUN addgroup g && adduser -D -u $UID -G g u\nUSER u\n", ""},
		{"quoted elsewhere in the RUN", "FROM alpine:3\nRUN addgroup g && adduser -D -G g u && echo \"x\"\nUSER u\n", ""},
		{"heredoc", "FROM alpine:3\nRUN <<EOF\naddgroup g && adduser -D -G g u\nEOF\nUSER u\n", ""},
		{"created twice", "FROM alpine:3\nRUN addgroup g && adduser -D -G g u\nRUN adduser -D -G g u\nUSER u\n", ""},
		{"created after USER", "FROM alpine:3\nUSER u\nRUN addgroup g && adduser -D -G g u\n", ""},
		{"group created after the user", "FROM alpine:3\nRUN adduser -D -G g u && addgroup g\nUSER u\n", ""},
		{"other group in USER", "FROM alpine:3\nRUN addgroup g && adduser -D -G g u\nUSER u:other\n", ""},
		{"old uid used elsewhere", "FROM alpine:3\nRUN addgroup g && adduser -D -u 1000 -G g u\nCOPY --chown=1000 a /a\nUSER u\n", ""},
		{"numeric user not created", "FROM alpine:3\nRUN addgroup g && adduser -D -G g u\nUSER 1000\n", ""},
		{"created in a base stage", "FROM alpine:3 AS b\nRUN addgroup g && adduser -D -G g u\nFROM b\nRUN true\nUSER u\n", ""},
		{"continuation joining words", "FROM alpine:3\nRUN addgroup g && add\\\nuser -D -G g u\nUSER u\n", ""},
		{"continuation", "FROM alpine:3\nRUN addgroup g \\\n && adduser -D -G g u\nUSER u\n",
			" && adduser -u 50000 -D -G g u"},
		{"run flags", "FROM alpine:3\nRUN --network=none addgroup g && adduser -D -G g u\nUSER u\n",
			"RUN --network=none addgroup -g 50000 g && adduser -u 50000 -D -G g u"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, applied, skipped, err := Dockerfile("Dockerfile", []byte(tc.in), fix.Options{Checks: map[string]bool{idHighUID: true}})
			if err != nil || len(applied) != 1 {
				t.Fatalf("err %v, applied %v, skipped %v", err, applied, skipped)
			}
			if !strings.Contains(string(out), "USER 50000:50000\n") {
				t.Errorf("USER not rewritten:\n%s", out)
			}
			if tc.want == "" {
				if !applied[0].Risky || strings.Count(string(out), "50000") != 2 {
					t.Errorf("want USER rewritten alone, risky; got risky=%v:\n%s", applied[0].Risky, out)
				}
				return
			}
			if applied[0].Risky || !slices.Contains(strings.Split(string(out), "\n"), tc.want) {
				t.Errorf("want the line %q, not risky; got risky=%v:\n%s", tc.want, applied[0].Risky, out)
			}
			checkFixed(t, []byte(tc.in), out, applied, skipped, fix.Options{Checks: map[string]bool{idHighUID: true}})
		})
	}
}

// TestPlacement covers where a new USER goes.
func TestPlacement(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"after the last RUN", "FROM x\nRUN a\nCOPY b c\nRUN d\nCOPY e f\nCMD [\"g\"]\n",
			"FROM x\nRUN a\nCOPY b c\nRUN d\nUSER 50000:50000\nCOPY e f\nCMD [\"g\"]\n"},
		{"RUN after CMD", "FROM x\nCMD [\"g\"]\nRUN d\n",
			"FROM x\nCMD [\"g\"]\nRUN d\nUSER 50000:50000\n"},
		{"before the comments of CMD", "FROM x\nCOPY a b\n\n# run it\n# (really)\nCMD [\"g\"]\n",
			"FROM x\nCOPY a b\n\nUSER 50000:50000\n# run it\n# (really)\nCMD [\"g\"]\n"},
		{"empty stage", "FROM x\n", "FROM x\nUSER 50000:50000\n"},
		{"indented, lower case", "from x\n  run a\n  cmd [\"g\"]\n", "from x\n  run a\n  user 50000:50000\n  cmd [\"g\"]\n"},
		{"root USER replaced", "FROM x\nRUN a\nUSER 0:0\nCMD [\"g\"]\n", "FROM x\nRUN a\nUSER 50000:50000\nCMD [\"g\"]\n"},
		{"root USER kept before RUN", "FROM x\nUSER root\nRUN a\n", "FROM x\nUSER root\nRUN a\nUSER 50000:50000\n"},
		{"base stage root", "FROM x AS b\nUSER root\nFROM b\nCOPY a b\n", "FROM x AS b\nUSER root\nFROM b\nCOPY a b\nUSER 50000:50000\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := fix.Options{Checks: map[string]bool{idUser: true}}
			out, applied, skipped, err := Dockerfile("Dockerfile", []byte(tc.in), opts)
			if err != nil || string(out) != tc.want {
				t.Errorf("err %v, skipped %v, got:\n%s\nwant:\n%s", err, skipped, out, tc.want)
			}
			checkFixed(t, []byte(tc.in), out, applied, skipped, opts)
		})
	}
}

// TestUnchanged: with nothing to fix, or fixes not asked for, the input
// comes back as it is.
func TestUnchanged(t *testing.T) {
	in := []byte("FROM alpine:3.20\nCMD python3 app.py\n")
	for _, opts := range []fix.Options{
		{Checks: map[string]bool{}},
		{Checks: map[string]bool{idDigest: true}}, // no Resolve
	} {
		out, applied, skipped, err := Dockerfile("Dockerfile", in, opts)
		if err != nil || &out[0] != &in[0] || applied != nil || skipped != nil {
			t.Errorf("%+v: err %v, applied %v, skipped %v, same slice %v", opts, err, applied, skipped, &out[0] == &in[0])
		}
	}
}

func TestParseError(t *testing.T) {
	for in, want := range map[string]string{
		"":                              "file with no instructions",
		"ARG X\n":                       "no FROM instruction",
		"FROM alpine\nRUN <<EOF\nfoo\n": "line 2: unterminated heredoc",
	} {
		out, applied, skipped, err := Dockerfile("Dockerfile", []byte(in), fix.Options{})
		if err == nil || !strings.Contains(err.Error(), want) || out != nil || applied != nil || skipped != nil {
			t.Errorf("%q: got err %v, %q %v %v, want an error with %q", in, err, out, applied, skipped, want)
		}
	}
}

// TestBrokenInstruction: an instruction that does not parse is not
// edited, and the rest of the file still is.
func TestBrokenInstruction(t *testing.T) {
	in := "FROM alpine:3.20 AS\nCMD python3 app.py\n"
	out, applied, skipped, err := Dockerfile("Dockerfile", []byte(in), fix.Options{FixValues: check.FixValues{Resolve: testResolve}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), "FROM alpine:3.20 AS\n") || len(skipped) == 0 || !strings.Contains(skipped[0].Reason, "does not parse") {
		t.Errorf("FROM edited or not skipped: %v\n%s", skipped, out)
	}
	checkFixed(t, []byte(in), out, applied, skipped, fix.Options{FixValues: check.FixValues{Resolve: testResolve}})
}

// TestPanic: a panic (here from Resolve) comes back as an error.
func TestPanic(t *testing.T) {
	_, _, _, err := Dockerfile("Dockerfile", []byte("FROM alpine\n"), fix.Options{FixValues: check.FixValues{Resolve: func(string) (string, error) { panic("boom") }}})
	if !errors.Is(err, errInternal) || !strings.Contains(err.Error(), "boom") {
		t.Errorf("got %v", err)
	}
}

// TestResolveOnce: each reference is resolved once.
func TestResolveOnce(t *testing.T) {
	calls := map[string]int{}
	opts := fix.Options{FixValues: check.FixValues{Resolve: func(ref string) (string, error) { calls[ref]++; return testResolve(ref) }}}
	_, applied, _, err := Dockerfile("Dockerfile", []byte("FROM alpine:3 AS a\nFROM alpine:3 AS b\nFROM alpine:3\n"), opts)
	if err != nil || len(applied) != 4 || calls["alpine:3"] != 1 {
		t.Errorf("err %v, applied %v, calls %v", err, applied, calls)
	}
}

// TestBadDigest: a digest that is not sha256 is not written.
func TestBadDigest(t *testing.T) {
	opts := fix.Options{Checks: map[string]bool{idDigest: true}, FixValues: check.FixValues{Resolve: func(string) (string, error) { return "sha256:abc", nil }}}
	out, applied, skipped, err := Dockerfile("Dockerfile", []byte("FROM alpine:3\n"), opts)
	if err != nil || string(out) != "FROM alpine:3\n" || applied != nil || len(skipped) != 1 {
		t.Errorf("err %v, applied %v, skipped %v:\n%s", err, applied, skipped, out)
	}
}

// TestContinuationAtEnd: a USER cannot follow a last line that ends with
// a continuation.
func TestContinuationAtEnd(t *testing.T) {
	in := "FROM x\nRUN a \\"
	out, applied, skipped, err := Dockerfile("Dockerfile", []byte(in), fix.Options{})
	if err != nil || string(out) != in || applied != nil || len(skipped) != 1 {
		t.Errorf("err %v, applied %v, skipped %v:\n%s", err, applied, skipped, out)
	}
}
