package escalation

import (
	"errors"
	"fmt"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Locate adds the line of appliance.yml's text to a *FieldError in err
// ("line 14: escalation.chains[1].steps[0]: after ..."): the YAML decoder
// knows lines only for its own errors, not for those of a field's
// validation. Other errors are returned as they are.
func Locate(err error, text string) error {
	var fe *FieldError
	if !errors.As(err, &fe) {
		return err
	}
	var doc yaml.Node
	if yaml.Unmarshal([]byte(text), &doc) != nil || len(doc.Content) == 0 {
		return err
	}
	n := lookup(doc.Content[0], "escalation")
	if n == nil {
		return err
	}
	line := n.Line
	for _, p := range fe.Path {
		var next *yaml.Node
		switch p := p.(type) {
		case int:
			if n.Kind == yaml.SequenceNode && p < len(n.Content) {
				next = n.Content[p]
			}
		case string:
			next = lookup(n, p)
		}
		if next == nil {
			break
		}
		n, line = next, next.Line
	}
	return fmt.Errorf("line %s: %w", strconv.Itoa(line), err)
}

// lookup returns the value of key in mapping n, nil if n is no mapping or
// lacks the key.
func lookup(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
