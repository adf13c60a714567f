package configfiles

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	hasLine = regexp.MustCompile(`line \d+`)
	quoted  = regexp.MustCompile(`"([^"]{1,200})"`)
)

// locate adds a line number to a parse error that lacks one. The YAML
// decoders only know lines for syntax and type errors; errors raised by a
// field's own unmarshaller ("not a valid duration string: \"nope\"") come
// without, which leaves an operator searching a long file. When a quoted
// value from the message occurs on exactly one line, that line is named.
func locate(err error, text string) error {
	msg := err.Error()
	if hasLine.MatchString(msg) {
		return err
	}
	lines := strings.Split(text, "\n")
	for _, m := range quoted.FindAllStringSubmatch(msg, -1) {
		val := m[1]
		found := 0
		for i, l := range lines {
			if strings.Contains(l, val) && !strings.HasPrefix(strings.TrimSpace(l), "#") {
				if found != 0 {
					found = -1
					break
				}
				found = i + 1
			}
		}
		if found > 0 {
			return fmt.Errorf("line %d: %w", found, err)
		}
	}
	return err
}
