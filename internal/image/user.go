package image

import (
	"strconv"
	"strings"
)

// ResolveUser resolves the configured user (its part before any ":group")
// through the image's own /etc/passwd, as the runtime does: "" is root,
// "app" is app's UID, "1000" and "1000:1000" are 1000, with the name of
// that UID when passwd has one. ok is false when a name is not in passwd
// (the container would fail to start), except "root", which is 0 anyway.
func (img *Image) ResolveUser() (uid int, name string, ok bool) {
	user, _, _ := strings.Cut(img.User, ":")
	if user == "" {
		return 0, "root", true
	}
	entries := img.passwd()
	if n, err := strconv.Atoi(user); err == nil {
		for _, e := range entries {
			if e.uid == n {
				return n, e.name, true
			}
		}
		return n, "", true
	}
	for _, e := range entries {
		if e.name == user {
			return e.uid, e.name, true
		}
	}
	if user == "root" {
		return 0, "root", true
	}
	return 0, user, false
}

type passwdEntry struct {
	name string
	uid  int
}

// passwd parses /etc/passwd; lines that do not parse are skipped, as
// libc does.
func (img *Image) passwd() []passwdEntry {
	data, ok := img.Content("/etc/passwd")
	if !ok {
		return nil
	}
	var out []passwdEntry
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Split(line, ":")
		if len(fields) < 3 || fields[0] == "" || strings.HasPrefix(fields[0], "#") {
			continue
		}
		uid, err := strconv.Atoi(fields[2])
		if err != nil {
			continue
		}
		out = append(out, passwdEntry{name: fields[0], uid: uid})
	}
	return out
}
