package importer

import (
	"errors"

	"upmon/notify"
)

// ParseKuma reads an Uptime Kuma database file (kuma.db, opened
// read-only) or a 1.x JSON backup into a plan.
func ParseKuma(file string, reg *notify.Registry) (*Plan, error) {
	return nil, errors.New("not yet")
}
