package account

import (
	"context"
	"database/sql"
	"errors"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"upmon/platform/api"
	"upmon/platform/sqldb"
)

// User is an account.
type User struct {
	// ID identifies the user.
	ID int64 `json:"id"`
	// Name is the sign-in name, unique.
	Name string `json:"name"`
	// Email is the address, unique (stored lower-case); it also signs in.
	Email string `json:"email"`
	// Role is owner, editor or viewer.
	Role string `json:"role"`
	// Password is true when the user can sign in with a password.
	Password bool `json:"password"`
	// SSO is true when the user was created or linked by single sign-on.
	SSO bool `json:"sso"`
	// CreatedAt is when the account was created.
	CreatedAt time.Time `json:"created_at"`

	hash string
}

// AddUserParams is the body of POST /users.
type AddUserParams struct {
	// Name is required: 1-64 characters, no white space.
	Name string `json:"name"`
	// Email is required.
	Email string `json:"email"`
	// Role is required: owner, editor or viewer.
	Role string `json:"role"`
	// Password is optional (an SSO-only user has none); at least
	// MinPasswordLen characters.
	Password string `json:"password,omitempty"`
}

// StrictJSON marks AddUserParams as refusing unknown fields.
func (AddUserParams) StrictJSON() {}

// PatchUserParams is the body of PATCH /users/{id}: the fields to change.
type PatchUserParams struct {
	// ID is the user, from the path.
	ID int64 `json:"-" path:"id"`
	// Name, Email, Role and Password replace the current values when set.
	Name     *string `json:"name,omitempty"`
	Email    *string `json:"email,omitempty"`
	Role     *string `json:"role,omitempty"`
	Password *string `json:"password,omitempty"`
}

// StrictJSON marks PatchUserParams as refusing unknown fields.
func (PatchUserParams) StrictJSON() {}

// UserID names a user in a path.
type UserID struct {
	// ID is the user, from the path.
	ID int64 `json:"-" path:"id"`
}

// Users is the answer of GET /users.
type Users struct {
	// Users are every account, by id.
	Users []*User `json:"users"`
}

// Empty is an answer without content.
type Empty struct{}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func validName(n string) error {
	if n == "" || utf8.RuneCountInString(n) > 64 || strings.ContainsAny(n, " \t\r\n@") {
		return api.FieldError("name", "must be 1-64 characters without spaces or @")
	}
	return nil
}

func normEmail(e string) (string, error) {
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || len(e) > 254 {
		return "", api.FieldError("email", "must be an address like ada@example.com")
	}
	return strings.ToLower(e), nil
}

func validRole(r string) error {
	if _, ok := api.ParseRole(r); !ok {
		return api.FieldError("role", "must be owner, editor or viewer")
	}
	return nil
}

func validPassword(p string) error {
	if utf8.RuneCountInString(p) < MinPasswordLen || len(p) > MaxPasswordLen {
		return api.FieldError("password", "must be %d to %d characters", MinPasswordLen, MaxPasswordLen)
	}
	return nil
}

const userColumns = `id, name, email, role, password_hash, oidc_subject, created_at`

func scanUser(row interface{ Scan(...any) error }) (*User, error) {
	var u User
	var sub string
	var created int64
	if err := row.Scan(&u.ID, &u.Name, &u.Email, &u.Role, &u.hash, &sub, &created); err != nil {
		return nil, err
	}
	u.Password, u.SSO, u.CreatedAt = u.hash != "", sub != "", time.Unix(created, 0).UTC()
	return &u, nil
}

// AddUser creates a user (the CLI, the set-up page and POST /users).
func (s *Service) AddUser(ctx context.Context, p *AddUserParams) (*User, error) {
	email, err := normEmail(p.Email)
	if err != nil {
		return nil, err
	}
	if err := firstErr(validName(p.Name), validRole(p.Role)); err != nil {
		return nil, err
	}
	hash := ""
	if p.Password != "" {
		if err := validPassword(p.Password); err != nil {
			return nil, err
		}
		hash = HashPassword(p.Password)
	}
	return s.insertUser(ctx, p.Name, email, p.Role, hash, "")
}

func (s *Service) insertUser(ctx context.Context, name, email, role, hash, subject string) (*User, error) {
	now := s.now().Unix()
	var id int64
	err := s.db.QueryRowContext(ctx, `INSERT INTO users (name, email, role, password_hash, oidc_subject, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`, name, email, role, hash, subject, now).Scan(&id)
	if sqldb.IsUniqueViolation(err) {
		return nil, api.Errorf(api.AlreadyExists, "a user with that name or email exists")
	} else if err != nil {
		return nil, dbErr("add user", err)
	}
	u, err := s.GetUser(ctx, &UserID{ID: id})
	if err != nil {
		return nil, err
	}
	s.Record(ctx, "user.add", userTarget(u), nil, u)
	return u, nil
}

func userTarget(u *User) string { return "user/" + u.Name }

// GetUser returns a user.
func (s *Service) GetUser(ctx context.Context, p *UserID) (*User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, p.ID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, api.Errorf(api.NotFound, "no such user")
	} else if err != nil {
		return nil, dbErr("get user", err)
	}
	return u, nil
}

// FindUser returns the user whose name or email is login, or nil.
func (s *Service) FindUser(ctx context.Context, login string) (*User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE name = $1 OR email = $2`,
		login, strings.ToLower(login)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, dbErr("find user", err)
	}
	return u, nil
}

// ListUsers returns every user.
func (s *Service) ListUsers(ctx context.Context, _ *Empty) (*Users, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY id`)
	if err != nil {
		return nil, dbErr("list users", err)
	}
	defer rows.Close()
	out := &Users{Users: []*User{}}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, dbErr("list users", err)
		}
		out.Users = append(out.Users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("list users", err)
	}
	return out, nil
}

// CountUsers returns how many users exist.
func (s *Service) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, dbErr("count users", err)
	}
	return n, nil
}

// errLastOwner refuses to leave an installation without an owner.
var errLastOwner = &api.Error{Code: api.FailedPrecondition, Message: "the last owner cannot be removed or demoted"}

// PatchUser changes a user's name, email, role or password. Demoting the
// last owner is refused.
func (s *Service) PatchUser(ctx context.Context, p *PatchUserParams) (*User, error) {
	before, err := s.GetUser(ctx, &UserID{ID: p.ID})
	if err != nil {
		return nil, err
	}
	name, email, role, hash := before.Name, before.Email, before.Role, before.hash
	if p.Name != nil {
		name = *p.Name
	}
	if p.Email != nil {
		if email, err = normEmail(*p.Email); err != nil {
			return nil, err
		}
	}
	if p.Role != nil {
		role = *p.Role
	}
	if err := firstErr(validName(name), validRole(role)); err != nil {
		return nil, err
	}
	if p.Password != nil {
		if err := validPassword(*p.Password); err != nil {
			return nil, err
		}
		hash = HashPassword(*p.Password)
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		if before.Role == "owner" && role != "owner" {
			if err := s.keepAnOwner(ctx, tx, p.ID); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE users SET name = $1, email = $2, role = $3, password_hash = $4, updated_at = $5 WHERE id = $6`,
			name, email, role, hash, s.now().Unix(), p.ID)
		if err == nil && p.Password != nil {
			// A new password ends the sessions opened with the old one.
			_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, p.ID)
		}
		return err
	})
	if sqldb.IsUniqueViolation(err) {
		return nil, api.Errorf(api.AlreadyExists, "a user with that name or email exists")
	} else if err != nil {
		return nil, dbErr("update user", err)
	}
	after, err := s.GetUser(ctx, &UserID{ID: p.ID})
	if err != nil {
		return nil, err
	}
	s.Record(ctx, "user.update", userTarget(after), before, after)
	return after, nil
}

// keepAnOwner fails when user id is the only owner.
func (s *Service) keepAnOwner(ctx context.Context, tx *sql.Tx, id int64) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE role = 'owner' AND id <> $1`, id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return errLastOwner
	}
	return nil
}

// DeleteUser removes a user with their sessions and tokens. Removing the
// last owner is refused.
func (s *Service) DeleteUser(ctx context.Context, p *UserID) (*Empty, error) {
	before, err := s.GetUser(ctx, p)
	if err != nil {
		return nil, err
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		if before.Role == "owner" {
			if err := s.keepAnOwner(ctx, tx, p.ID); err != nil {
				return err
			}
		}
		for _, q := range []string{`DELETE FROM sessions WHERE user_id = $1`, `DELETE FROM tokens WHERE user_id = $1`, `DELETE FROM users WHERE id = $1`} {
			if _, err := tx.ExecContext(ctx, q, p.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, dbErr("delete user", err)
	}
	s.Record(ctx, "user.delete", userTarget(before), before, nil)
	return &Empty{}, nil
}

// Authenticate returns the user whose name or email is login and whose
// password matches, or nil. An unknown login costs as much as a wrong
// password, so the answer time does not tell which.
func (s *Service) Authenticate(ctx context.Context, login, password string) (*User, error) {
	if len(password) > MaxPasswordLen || len(login) > 254 {
		return nil, nil
	}
	u, err := s.FindUser(ctx, login)
	if err != nil {
		return nil, err
	}
	if u == nil || u.hash == "" {
		VerifyPassword(s.dummy, password)
		return nil, nil
	}
	if !VerifyPassword(u.hash, password) {
		return nil, nil
	}
	return u, nil
}
