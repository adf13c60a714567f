package persist

import (
	"fmt"
	"os"
	"time"
)

// Damaged describes a state file that could not be read at start-up and was
// moved aside, so that one bad file does not stop all alerting.
type Damaged struct {
	Path    string // where the file was
	MovedTo string // where it is now
	Err     error  // why it could not be read
	Lost    string // what the appliance starts without
}

// Quarantine moves a damaged state file to <path>.corrupt-<UTC time>, keeping
// it for inspection, and returns the record the caller reports (alert, audit
// log). If the rename fails the file stays, and the error is returned.
func Quarantine(path string, cause error, lost string) (Damaged, error) {
	to := path + ".corrupt-" + time.Now().UTC().Format("20060102T150405Z")
	if err := os.Rename(path, to); err != nil {
		return Damaged{}, fmt.Errorf("move damaged %s aside: %w", path, err)
	}
	return Damaged{Path: path, MovedTo: to, Err: cause, Lost: lost}, nil
}
