// Package dockerfile reads Dockerfiles and Containerfiles into a model that
// checks can read: stages, their resolved bases, and instructions with their
// lines, with ARGs resolved the way BuildKit resolves them.
package dockerfile

import (
	"strconv"
	"strings"
)

// File is a parsed Dockerfile.
type File struct {
	Path string
	// MetaArgs are the ARG instructions before the first FROM, whose
	// values FROM lines may use.
	MetaArgs []*Instruction
	Stages   []*Stage
	// Final is the stage that is built: the --target stage, or the last.
	Final *Stage
	// Ignores maps the line of an instruction to the checks suppressed on
	// it by a `# kubeharden:ignore=<check-id>[,<check-id>...] <reason>`
	// comment in the comment lines directly above it, with their reasons.
	Ignores map[int]map[string]string
}

// Stage is one FROM and the instructions that follow it.
type Stage struct {
	Index int
	// Name is the AS name, "" when the stage has none.
	Name string
	// From is the FROM instruction.
	From *Instruction
	// Base is the base image reference with ARGs resolved ("scratch" for
	// scratch); BaseStage is set instead when FROM names an earlier stage.
	Base      string
	BaseStage *Stage
	Platform  string
	// Instructions are the stage's instructions after FROM.
	Instructions []*Instruction
}

// Instruction is one Dockerfile instruction.
type Instruction struct {
	// Cmd is the instruction keyword, lower case (run, user, cmd...).
	Cmd string
	// Args are the arguments with ARGs resolved where BuildKit resolves
	// them (FROM with the global ARGs; ADD, COPY, ENV, EXPOSE, LABEL,
	// STOPSIGNAL, USER, VOLUME, WORKDIR with the stage's ARGs and ENVs;
	// not RUN, CMD, ENTRYPOINT); for exec form, the JSON array's elements;
	// for ENV and LABEL, key=value pairs.
	Args []string
	// Original is the instruction as written (continuations joined).
	Original string
	// Line and EndLine are the first and last line, 1-based.
	Line, EndLine int
	// ExecForm is true for the JSON array form of RUN, CMD and ENTRYPOINT.
	ExecForm bool
	// Flags are the --flags of the instruction, e.g. --from=build.
	Flags []string
	// Heredocs holds the bodies of heredocs (RUN <<EOF ... EOF).
	Heredocs []string
	// heredocNames are the heredocs' delimiters, EOF for <<EOF.
	heredocNames []string
}

// Ref names the stage in finding paths: `stage "build"` when it has a
// name, stage[1] otherwise.
func (s *Stage) Ref() string {
	if s.Name != "" {
		return `stage "` + s.Name + `"`
	}
	return "stage[" + strconv.Itoa(s.Index) + "]"
}

// Effective returns the last instruction cmd of the stage or, when it has
// none, of the stages it builds on (a stage inherits its base stage's
// image config: USER, CMD, ENTRYPOINT), with the stage that holds it.
func (s *Stage) Effective(cmd string) (*Stage, *Instruction) {
	for _, st := range s.Chain() {
		for i := len(st.Instructions) - 1; i >= 0; i-- {
			if st.Instructions[i].Cmd == cmd {
				return st, st.Instructions[i]
			}
		}
	}
	return nil, nil
}

// FromImage reports whether the stage builds on an image, rather than on
// scratch or an earlier stage.
func (s *Stage) FromImage() bool {
	return s.BaseStage == nil && s.Base != "" && !strings.EqualFold(s.Base, "scratch")
}

// Root follows FROM <stage> references back to the stage that builds on
// an image (or scratch). BaseStage always names an earlier stage, so the
// walk ends.
func (s *Stage) Root() *Stage {
	for s.BaseStage != nil {
		s = s.BaseStage
	}
	return s
}

// Chain returns the stage and the stages it builds on, the stage itself
// first and the root last.
func (s *Stage) Chain() []*Stage {
	var out []*Stage
	for ; s != nil; s = s.BaseStage {
		out = append(out, s)
	}
	return out
}

// NonrootID is the UID and GID of the user nonroot that every distroless
// and Chainguard image has.
const NonrootID = 65532
