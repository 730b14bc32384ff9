// Command floor is the parse-only floor of `make bench`: it reads the same
// files as a scan and decodes every document into YAML nodes with the same
// library, single-threaded, and runs no checks. A scan is measured against it.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"
)

func main() {
	start := time.Now()
	docs := 0
	for _, root := range os.Args[1:] {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			dec := yaml.NewDecoder(bytes.NewReader(data))
			for {
				var n yaml.Node
				if err := dec.Decode(&n); errors.Is(err, io.EOF) {
					return nil
				} else if err != nil {
					return fmt.Errorf("%s: %w", p, err)
				}
				docs++
			}
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "floor:", err)
			os.Exit(2)
		}
	}
	el := time.Since(start)
	fmt.Printf("floor: %d documents in %.3fs (%.0f docs/s)\n", docs, el.Seconds(), float64(docs)/el.Seconds())
}
