package dockerfile

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseShell(t *testing.T) {
	tests := []struct {
		script string
		want   [][]string
		simple bool
	}{
		{"apk add curl && apk del curl", [][]string{{"apk", "add", "curl"}, {"apk", "del", "curl"}}, true},
		{"if [ -n \"$X\" ]; then yum install -y 'nc'; fi", [][]string{{"[", "-n", "$X", "]"}, {"yum", "install", "-y", "nc"}}, false},
		{"FOO=1 sudo apt-get install \\\n  git", [][]string{{"sudo", "apt-get", "install", "git"}}, true},
		{"echo $(id -u) > /x", [][]string{{"echo", "$(id -u)"}, {"id", "-u"}}, false},
		{"a | b; c & # done", [][]string{{"a"}, {"b"}, {"c"}}, false},
	}
	for _, tt := range tests {
		s, err := ParseShell(tt.script)
		if err != nil {
			t.Fatalf("ParseShell(%q): %v", tt.script, err)
		}
		var got [][]string
		for _, c := range s.Commands {
			var words []string
			for _, w := range c.Args {
				words = append(words, w.Value)
			}
			got = append(got, words)
		}
		if !reflect.DeepEqual(got, tt.want) || s.Simple != tt.simple {
			t.Errorf("ParseShell(%q) = %q, simple %v; want %q, %v", tt.script, got, s.Simple, tt.want, tt.simple)
		}
	}
	if _, err := ParseShell("echo 'unterminated"); !errors.Is(err, ErrShell) {
		t.Errorf("unterminated quote: err = %v, want ErrShell", err)
	}
}

func TestShellWordPlain(t *testing.T) {
	s, err := ParseShell("adduser -u 1000 a\\\nb 'q' x*")
	if err != nil {
		t.Fatal(err)
	}
	var plain []bool
	for _, w := range s.Commands[0].Args {
		plain = append(plain, w.Plain)
	}
	if want := []bool{true, true, true, false, false, false}; !reflect.DeepEqual(plain, want) {
		t.Errorf("Plain = %v, want %v", plain, want)
	}
	if w := s.Commands[0].Args[2]; w.Start != 11 || w.End != 15 || w.Line != 1 {
		t.Errorf("1000 at %d..%d line %d, want 11..15 line 1", w.Start, w.End, w.Line)
	}
}

func TestRunCommandsHeredoc(t *testing.T) {
	f, errs := Parse("Dockerfile", []byte("FROM alpine\nRUN apk add bash && cat <<EOF > /etc/motd\nhi\nEOF\nRUN <<EOT\napk add curl\nEOT\n"), Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var got []string
	for _, ins := range f.Final.Instructions {
		cmds, err := RunCommands(ins)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cmds {
			got = append(got, c.Args[0].Value)
		}
	}
	if want := []string{"apk", "cat", "hi", "apk"}; !reflect.DeepEqual(got, want) {
		t.Errorf("commands = %q, want %q", got, want)
	}
}
