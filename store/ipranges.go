package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"strings"
)

// ReasonOutsideIPRange is the login refusal when the address is outside the school's or the user's ranges.
const ReasonOutsideIPRange = "outside_ip_range"

// MaxIPRanges bounds the ranges of one school or user.
const MaxIPRanges = 100

// parseRanges checks CIDR ranges; a bare address is a range of one.
func parseRanges(in []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(in))
	seen := map[netip.Prefix]bool{}
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, &Error{Code: CodeInvalid, Message: fmt.Sprintf("%q is not an IP range", s), Fields: map[string]string{"ranges": FieldInvalid}}
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		p = p.Masked()
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if len(out) > MaxIPRanges {
		return nil, &Error{Code: CodeInvalid, Message: "too many ranges", Fields: map[string]string{"ranges": FieldTooLong}}
	}
	return out, nil
}

// IPRanges returns the allowed ranges of the admin's school (userID "") or of one of its users.
func (db *DB) IPRanges(ctx context.Context, a Actor, userID string) ([]string, error) {
	if err := a.RequireAdmin(); err != nil {
		return nil, err
	}
	if userID != "" {
		if _, err := db.schoolUser(ctx, db.read, a.SchoolID, userID); err != nil {
			return nil, err
		}
	}
	return db.ranges(ctx, db.read, a.SchoolID, userID)
}

func (db *DB) ranges(ctx context.Context, q querier, schoolID, userID string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT cidr FROM ip_ranges WHERE school_id = ? AND user_id = ? ORDER BY cidr`, schoolID, userID)
	if err != nil {
		return nil, fmt.Errorf("read ip ranges: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("read ip ranges: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// SetIPRanges replaces the allowed ranges of the admin's school (userID "") or of one of its users. An empty
// list allows every address.
func (db *DB) SetIPRanges(ctx context.Context, a Actor, userID string, ranges []string) ([]string, error) {
	if err := a.RequireAdmin(); err != nil {
		return nil, err
	}
	prefixes, err := parseRanges(ranges)
	if err != nil {
		return nil, err
	}
	var out []string
	err = db.writeTx(ctx, func(tx *sql.Tx) error {
		if userID != "" {
			if _, err := db.schoolUser(ctx, tx, a.SchoolID, userID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ip_ranges WHERE school_id = ? AND user_id = ?`, a.SchoolID, userID); err != nil {
			return fmt.Errorf("replace ip ranges: %w", err)
		}
		for _, p := range prefixes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO ip_ranges (school_id, user_id, cidr) VALUES (?, ?, ?)`, a.SchoolID, userID, p.String()); err != nil {
				return fmt.Errorf("replace ip ranges: %w", err)
			}
		}
		out, err = db.ranges(ctx, tx, a.SchoolID, userID)
		return err
	})
	return out, err
}

// AllowedFrom reports whether u may log in from addr: when the school or the user has ranges, addr must be in
// one of them (in the school's and, if the user has their own, in the user's).
func (db *DB) AllowedFrom(ctx context.Context, u User, addr string) (bool, error) {
	return db.AllowedFromWith(ctx, u, addr, "", nil)
}

// AllowedFromWith is AllowedFrom as it would be if the ranges of owner ("" for the school) were replaced by
// ranges: an admin about to shut themself out is warned first.
func (db *DB) AllowedFromWith(ctx context.Context, u User, addr, owner string, ranges []string) (bool, error) {
	if ranges != nil {
		if _, err := parseRanges(ranges); err != nil {
			return false, err
		}
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return false, nil
	}
	ip = ip.Unmap()
	for _, o := range []string{"", u.ID} {
		list := ranges
		if ranges == nil || o != owner {
			if list, err = db.ranges(ctx, db.read, u.SchoolID, o); err != nil {
				return false, err
			}
		}
		if !containsAddr(list, ip) {
			return false, nil
		}
	}
	return true, nil
}

// containsAddr reports whether ip is in one of ranges; no ranges allow every address.
func containsAddr(ranges []string, ip netip.Addr) bool {
	if len(ranges) == 0 {
		return true
	}
	prefixes, err := parseRanges(ranges)
	if err != nil {
		return false
	}
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
