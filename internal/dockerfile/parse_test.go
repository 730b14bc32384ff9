package dockerfile

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// lastArgs returns the Args of the last instruction cmd of the stage.
func lastArgs(s *Stage, cmd string) []string {
	var out []string
	for _, i := range s.Instructions {
		if i.Cmd == cmd {
			out = i.Args
		}
	}
	return out
}

func find(s *Stage, cmd string) *Instruction {
	for _, i := range s.Instructions {
		if i.Cmd == cmd {
			return i
		}
	}
	return nil
}

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		opts  Options
		check func(t *testing.T, f *File)
		// errs are substrings of the expected errors, in line order.
		errs []string
		// errLines are the lines of the expected errors.
		errLines []int
	}{
		{
			name: "single stage",
			src:  "FROM alpine:3.19\nUSER 1000\nCMD [\"app\"]\n",
			check: func(t *testing.T, f *File) {
				if len(f.Stages) != 1 || f.Final != f.Stages[0] {
					t.Fatalf("stages %d, final %v", len(f.Stages), f.Final)
				}
				s := f.Final
				if s.Base != "alpine:3.19" || s.From.Line != 1 || s.From.Cmd != "from" {
					t.Errorf("base %q at %d", s.Base, s.From.Line)
				}
				if u := find(s, "user"); u.Line != 2 || !reflect.DeepEqual(u.Args, []string{"1000"}) {
					t.Errorf("user %+v", u)
				}
				if c := find(s, "cmd"); !c.ExecForm || c.Line != 3 || !reflect.DeepEqual(c.Args, []string{"app"}) {
					t.Errorf("cmd %+v", c)
				}
			},
		},
		{
			name: "global ARG in FROM",
			src:  "ARG VERSION=3.19\nARG IMAGE=alpine:${VERSION}\nFROM ${IMAGE} AS base\n",
			check: func(t *testing.T, f *File) {
				if f.Final.Base != "alpine:3.19" || f.Final.Name != "base" {
					t.Errorf("base %q name %q", f.Final.Base, f.Final.Name)
				}
				if len(f.MetaArgs) != 2 {
					t.Errorf("meta args %d", len(f.MetaArgs))
				}
			},
		},
		{
			name: "build arg overrides default",
			src:  "ARG VERSION=3.19\nFROM alpine:$VERSION\nARG UID=1000\nUSER $UID\n",
			opts: Options{BuildArgs: map[string]string{"VERSION": "3.20", "UID": "20000"}},
			check: func(t *testing.T, f *File) {
				if f.Final.Base != "alpine:3.20" {
					t.Errorf("base %q", f.Final.Base)
				}
				if got := lastArgs(f.Final, "user"); got[0] != "20000" {
					t.Errorf("user %q", got)
				}
			},
		},
		{
			name: "global ARG needs redeclaring in the stage",
			src:  "ARG UID=1000\nFROM alpine\nUSER $UID\nARG UID\nUSER $UID\n",
			check: func(t *testing.T, f *File) {
				us := []string{f.Final.Instructions[0].Args[0], f.Final.Instructions[2].Args[0]}
				if !reflect.DeepEqual(us, []string{"$UID", "1000"}) {
					t.Errorf("users %q", us)
				}
			},
		},
		{
			name: "unset ARG stays as written, default modifier applies",
			src:  "ARG GOLANG_VERSION\nFROM golang:${GOLANG_VERSION}-alpine\nARG UID\nUSER ${UID:-10001}\nWORKDIR /home/$UID\n",
			check: func(t *testing.T, f *File) {
				if f.Final.Base != "golang:${GOLANG_VERSION}-alpine" {
					t.Errorf("base %q", f.Final.Base)
				}
				if got := lastArgs(f.Final, "user"); got[0] != "10001" {
					t.Errorf("user %q", got)
				}
				if got := lastArgs(f.Final, "workdir"); got[0] != "/home/$UID" {
					t.Errorf("workdir %q", got)
				}
			},
		},
		{
			name: "stage ARG and ENV, ENV wins",
			src:  "FROM alpine\nARG UID=1000\nENV APP_UID=$UID GID=\"2000\"\nUSER ${APP_UID}:$GID\nENV UID=3000\nUSER $UID\nLABEL a=\"b c\" uid=$UID\n",
			check: func(t *testing.T, f *File) {
				if got := f.Final.Instructions[2].Args[0]; got != "1000:2000" {
					t.Errorf("user %q", got)
				}
				if got := lastArgs(f.Final, "user"); got[0] != "3000" {
					t.Errorf("user %q", got)
				}
				if got := find(f.Final, "env").Args; !reflect.DeepEqual(got, []string{"APP_UID=1000", "GID=2000"}) {
					t.Errorf("env %q", got)
				}
				if got := lastArgs(f.Final, "label"); !reflect.DeepEqual(got, []string{"a=b c", "uid=3000"}) {
					t.Errorf("label %q", got)
				}
			},
		},
		{
			name: "ENV of one instruction sees the values before it",
			src:  "FROM alpine\nENV A=1\nENV A=2 B=$A\nUSER $B\n",
			check: func(t *testing.T, f *File) {
				if got := lastArgs(f.Final, "user"); got[0] != "1" {
					t.Errorf("user %q", got)
				}
			},
		},
		{
			name: "multi-stage references by name and index",
			src: "FROM --platform=$BUILDPLATFORM golang:1.22 AS Build\nENV UID=10001\n" +
				"FROM build AS test\nUSER $UID\nFROM scratch\nFROM 0\n",
			check: func(t *testing.T, f *File) {
				if len(f.Stages) != 4 {
					t.Fatalf("stages %d", len(f.Stages))
				}
				b, test, scratch, last := f.Stages[0], f.Stages[1], f.Stages[2], f.Stages[3]
				if b.Name != "build" || b.Platform != "$BUILDPLATFORM" || b.Base != "golang:1.22" {
					t.Errorf("build %+v", b)
				}
				if test.BaseStage != b || test.Base != "" || test.Root() != b {
					t.Errorf("test base %q %v", test.Base, test.BaseStage)
				}
				if got := lastArgs(test, "user"); got[0] != "10001" {
					t.Errorf("ENV not inherited from base stage: %q", got)
				}
				if scratch.Base != "scratch" || scratch.BaseStage != nil {
					t.Errorf("scratch %+v", scratch)
				}
				if last.BaseStage != b || f.Final != last || last.Ref() != "stage[3]" || test.Ref() != `stage "test"` {
					t.Errorf("last %+v", last)
				}
				if got := len(last.Chain()); got != 2 {
					t.Errorf("chain %d", got)
				}
			},
		},
		{
			name: "a later stage name is an image, not a stage",
			src:  "FROM app\nFROM alpine AS app\n",
			check: func(t *testing.T, f *File) {
				if f.Stages[0].Base != "app" || f.Stages[0].BaseStage != nil {
					t.Errorf("stage 0 %+v", f.Stages[0])
				}
			},
		},
		{
			name: "target selects the final stage",
			src:  "FROM golang:1.22 AS build\nFROM alpine AS run\n",
			opts: Options{Target: "build"},
			check: func(t *testing.T, f *File) {
				if f.Final != f.Stages[0] {
					t.Errorf("final %s", f.Final.Ref())
				}
			},
		},
		{
			name: "unknown target",
			src:  "FROM golang:1.22 AS build\nFROM alpine AS run\n",
			opts: Options{Target: "nope"},
			check: func(t *testing.T, f *File) {
				if f.Final != f.Stages[1] {
					t.Errorf("final %s", f.Final.Ref())
				}
			},
			errs:     []string{`target stage "nope" not found`},
			errLines: []int{0},
		},
		{
			name: "heredoc and continuation lines",
			src: "FROM alpine\nRUN <<EOF\napk add curl\nset -e\nEOF\n" +
				"RUN apk add \\\n    # a comment inside\n    bash \\\n    zsh\nCMD app --port 80\n",
			check: func(t *testing.T, f *File) {
				ins := f.Final.Instructions
				if ins[0].Line != 2 || ins[0].EndLine != 5 || !reflect.DeepEqual(ins[0].Heredocs, []string{"apk add curl\nset -e\n"}) {
					t.Errorf("heredoc %+v", ins[0])
				}
				if ins[1].Line != 6 || ins[1].EndLine != 9 || !strings.Contains(ins[1].Args[0], "zsh") || strings.Contains(ins[1].Args[0], "comment") {
					t.Errorf("continuation %+v", ins[1])
				}
				if ins[2].Line != 10 || ins[2].ExecForm || !reflect.DeepEqual(ins[2].Args, []string{"app --port 80"}) {
					t.Errorf("cmd %+v", ins[2])
				}
			},
		},
		{
			name: "exec form detection",
			src:  "FROM alpine\nRUN [\"apk\", \"add\", \"curl\"]\nENTRYPOINT [\"/app\"]\nCMD [not json\n",
			check: func(t *testing.T, f *File) {
				ins := f.Final.Instructions
				if !ins[0].ExecForm || !ins[1].ExecForm || ins[2].ExecForm {
					t.Errorf("exec forms %v %v %v", ins[0].ExecForm, ins[1].ExecForm, ins[2].ExecForm)
				}
				if !reflect.DeepEqual(ins[0].Args, []string{"apk", "add", "curl"}) {
					t.Errorf("run args %q", ins[0].Args)
				}
			},
		},
		{
			name: "flags",
			src:  "FROM alpine AS a\nFROM alpine\nCOPY --from=a --chown=1:1 /x /y\nRUN --mount=type=cache,target=/root/.cache go build\n",
			check: func(t *testing.T, f *File) {
				if got := f.Final.Instructions[0].Flags; !reflect.DeepEqual(got, []string{"--from=a", "--chown=1:1"}) {
					t.Errorf("flags %q", got)
				}
				if got := f.Final.Instructions[1].Flags; len(got) != 1 {
					t.Errorf("flags %q", got)
				}
			},
		},
		{
			name: "escape directive",
			src:  "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN dir `\n    c:\\\nCOPY app C:\\app\\\nUSER ContainerUser\n",
			check: func(t *testing.T, f *File) {
				ins := f.Final.Instructions
				if ins[0].Line != 3 || ins[0].EndLine != 4 {
					t.Errorf("run %+v", ins[0])
				}
				if ins[1].Line != 5 || !reflect.DeepEqual(ins[1].Args, []string{"app", `C:\app\`}) {
					t.Errorf("copy %q at %d", ins[1].Args, ins[1].Line)
				}
				if f.Final.From.Line != 2 {
					t.Errorf("from line %d", f.Final.From.Line)
				}
			},
		},
		{
			name: "ignore comments",
			src: "# kubeharden:ignore=dockerfile-base-digest pinned by the release pipeline\nFROM alpine:3.19\n" +
				"# some other comment\n# kubeharden:ignore=dockerfile-user,dockerfile-user-high-uid runs as root to bind port 80\n" +
				"USER root\n" +
				"# kubeharden:ignore=dockerfile-exec-form\nCMD app\n" +
				"# kubeharden:ignore=dockerfile-tools-in-final-stage far away\n\nRUN apk add curl\n" +
				"#kubeharden:ignore=x   spaced   reason  \nRUN a \\\n  b\n",
			check: func(t *testing.T, f *File) {
				want := map[int]map[string]string{
					2:  {"dockerfile-base-digest": "pinned by the release pipeline"},
					5:  {"dockerfile-user": "runs as root to bind port 80", "dockerfile-user-high-uid": "runs as root to bind port 80"},
					12: {"x": "spaced   reason"},
				}
				if !reflect.DeepEqual(f.Ignores, want) {
					t.Errorf("ignores %v", f.Ignores)
				}
			},
			errs:     []string{"ignore comment for dockerfile-exec-form gives no reason", "not directly above an instruction"},
			errLines: []int{6, 8},
		},
		{
			name: "ignore comment without check",
			src:  "# kubeharden:ignore\nFROM alpine\n",
			check: func(t *testing.T, f *File) {
				if len(f.Ignores) != 0 {
					t.Errorf("ignores %v", f.Ignores)
				}
			},
			errs:     []string{"names no check"},
			errLines: []int{1},
		},
		{
			name: "heredoc body is not a comment",
			src:  "FROM alpine\nRUN <<EOF\n# kubeharden:ignore=x y\nEOF\nUSER 1\n",
			check: func(t *testing.T, f *File) {
				if len(f.Ignores) != 0 {
					t.Errorf("ignores %v", f.Ignores)
				}
			},
		},
		{
			name: "bad instructions are errors with lines",
			src:  "RUN echo before\nFROM alpine\nFROBNICATE x\nFROM a b\nUSER ${\nCOPY --bogus=1 a b\n",
			check: func(t *testing.T, f *File) {
				if len(f.Stages) != 2 {
					t.Errorf("stages %d", len(f.Stages))
				}
				if got := lastArgs(f.Stages[1], "user"); got[0] != "${" {
					t.Errorf("user %q", got)
				}
			},
			errs:     []string{"instruction RUN comes before the first FROM", "unknown instruction", "FROM requires either one or three arguments", "expanding", "unknown flag: --bogus"},
			errLines: []int{1, 3, 4, 5, 6},
		},
		{
			name:     "no FROM",
			src:      "ARG X=1\n",
			errs:     []string{"no FROM instruction"},
			errLines: []int{0},
		},
		{
			name:     "empty file",
			src:      "# just a comment\n\n",
			errs:     []string{"no instructions"},
			errLines: []int{2},
		},
		{
			name:     "unterminated heredoc",
			src:      "FROM alpine\nRUN <<EOF\necho hi\n",
			errs:     []string{"unterminated heredoc"},
			errLines: []int{2},
		},
		{
			name: "CRLF line endings and BOM",
			src:  "\ufeff# kubeharden:ignore=dockerfile-base-tag a reason\r\nFROM alpine:3.19\r\n# kubeharden:ignore=dockerfile-user reason here\r\nUSER root\r\n",
			check: func(t *testing.T, f *File) {
				if f.Final.Base != "alpine:3.19" {
					t.Errorf("base %q", f.Final.Base)
				}
				if f.Ignores[4]["dockerfile-user"] != "reason here" || f.Ignores[2]["dockerfile-base-tag"] != "a reason" {
					t.Errorf("ignores %v", f.Ignores)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, errs := Parse("Dockerfile", []byte(tt.src), tt.opts)
			if len(errs) != len(tt.errs) {
				t.Errorf("errors %v, want %q", errs, tt.errs)
			} else {
				for i, e := range errs {
					if !strings.Contains(e.Message, tt.errs[i]) || e.Line != tt.errLines[i] {
						t.Errorf("error %d: %v, want %q at line %d", i, e, tt.errs[i], tt.errLines[i])
					}
				}
			}
			if tt.check == nil {
				if f != nil {
					t.Errorf("want no file, got %d stages", len(f.Stages))
				}
				return
			}
			if f == nil {
				t.Fatal("no file")
			}
			tt.check(t, f)
		})
	}
}

// TestCorpus parses the real-world Dockerfiles of ../shared/corpus.
func TestCorpus(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "corpus", "dockerfiles")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("corpus directory %s is missing (it lives beside the repository): %v", dir, err)
	}
	n := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".md") {
			return err
		}
		n++
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f, errs := Parse(p, data, Options{})
		for _, e := range errs {
			t.Errorf("%s: %v", p, e)
		}
		if f == nil || f.Final == nil || len(f.Stages) == 0 {
			t.Errorf("%s: no stages", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 21 {
		t.Errorf("parsed %d corpus Dockerfiles, want 21", n)
	}
}

// FuzzParse checks that no input makes Parse panic, and that what it
// returns is consistent.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"FROM alpine\nUSER 1000\n",
		"ARG V=1\nFROM alpine:$V AS a\nFROM a\nCMD [\"x\"]\n",
		"FROM alpine\nRUN <<EOF\necho\nEOF\n",
		"FROM alpine\nRUN <<-EOT cat > /x\n\thello\n\tEOT\n",
		"# escape=`\nFROM x\nRUN a `\n b\n",
		"# kubeharden:ignore=a b\nFROM x\n# kubeharden:ignore=c\nUSER ${X:-1}\n",
		"FROM --platform=$BUILDPLATFORM x AS y\nFROM 0\nFROM 7\nENV A=\"b\" C='d'\nLABEL x=${A:?no}\n",
		"ONBUILD RUN x\nHEALTHCHECK CMD true\nFROM scratch\nSHELL [\"sh\"]\nMAINTAINER me\n",
		"FROM\nFROM a AS\nFROM a AS 1x\nCOPY <<EOF /x\nhi\nEOF\n",
	}
	if entries, err := filepath.Glob(filepath.Join("..", "..", "..", "shared", "corpus", "dockerfiles", "*", "*")); err == nil {
		for _, e := range entries {
			if data, err := os.ReadFile(e); err == nil {
				seeds = append(seeds, string(data))
			}
		}
	}
	for _, s := range seeds {
		f.Add(s, "")
	}
	f.Add("FROM a AS b\nFROM c AS d\n", "b")
	f.Fuzz(func(t *testing.T, src, target string) {
		file, errs := Parse("Dockerfile", []byte(src), Options{Target: target, BuildArgs: map[string]string{"V": "x"}})
		for _, e := range errs {
			if e.Message == "" || e.Line < 0 {
				t.Errorf("bad error %+v", e)
			}
		}
		if file == nil {
			if len(errs) == 0 {
				t.Error("nil file without errors")
			}
			return
		}
		if file.Final == nil || len(file.Stages) == 0 {
			t.Fatal("file without a final stage")
		}
		for i, s := range file.Stages {
			if s.Index != i || s.From == nil {
				t.Fatalf("stage %d: index %d, from %v", i, s.Index, s.From)
			}
			if s.BaseStage != nil && s.BaseStage.Index >= i {
				t.Fatalf("stage %d builds on a later stage", i)
			}
			_ = s.Root()
			for _, ins := range s.Instructions {
				if ins.Line < 1 || ins.EndLine < ins.Line {
					t.Fatalf("instruction %q at lines %d-%d", ins.Cmd, ins.Line, ins.EndLine)
				}
			}
		}
	})
}

// TestInvalidUTF8Silent: invalid UTF-8 is parsed without BuildKit's lexer
// writing to standard error.
func TestInvalidUTF8Silent(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = w
	f, errs := Parse("Dockerfile", []byte("FROM a\xff\nRUN echo \xfe\nUSER b\xff\n"), Options{})
	os.Stderr = old
	w.Close()
	out, _ := io.ReadAll(r)
	if len(out) > 0 {
		t.Errorf("wrote to stderr: %q", out)
	}
	if len(errs) > 0 || f == nil || len(f.Stages) != 1 || f.Stages[0].Instructions[1].Line != 3 {
		t.Errorf("parse: %v %+v", errs, f)
	}
}
