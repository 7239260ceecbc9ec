package jobrouter

import "encoding/base64"

// Paging. Every List method returns one page of entities sorted by ID, and a
// continuation token when more may follow. Pass the token back, with the same
// filters, to get the next page; an empty token means the last page. The token
// names the last ID returned, so it stays valid whatever is created or deleted
// meanwhile: the next page starts after that ID. Entities created behind it in ID
// order are not seen by that walk; the walk never returns an entity twice.
const (
	// DefaultPageSize is the page size when PageSize is 0.
	DefaultPageSize = 100
	// MaxPageSize is the largest PageSize accepted.
	MaxPageSize = 1000
)

// ListOptions pages a list of policies or queues. A nil *ListOptions is the zero
// value: the first page of DefaultPageSize entities.
type ListOptions struct {
	// PageSize is the most entities a page holds. Defaults to DefaultPageSize (100);
	// negative or above MaxPageSize (1000) is ErrInvalidArgument.
	PageSize int
	// ContinuationToken is the token of the previous page, to get the next one.
	// Defaults to "" (the first page). It is opaque: pass it back as it was given.
	// A token that is not one the same List method returned is ErrInvalidArgument.
	ContinuationToken string
}

// pageRequest is a checked page request.
type pageRequest struct {
	entity string // what is listed; a token is valid only for the same entity
	after  string // the last ID of the previous page; "" from the first
	size   int    // the page size
}

// page checks opts for listing entity.
func (o *ListOptions) page(op, entity string) (pageRequest, error) {
	var p ListOptions
	if o != nil {
		p = *o
	}
	return checkPage(op, entity, p.PageSize, p.ContinuationToken)
}

// checkPage checks a page size and a continuation token for listing entity.
func checkPage(op, entity string, size int, token string) (pageRequest, error) {
	switch {
	case size < 0:
		return pageRequest{}, errInvalid(op, entity, "", "PageSize must not be negative")
	case size > MaxPageSize:
		return pageRequest{}, errInvalid(op, entity, "", "PageSize must be at most 1000")
	case size == 0:
		size = DefaultPageSize
	}
	p := pageRequest{entity: entity, size: size}
	if token != "" {
		after, ok := decodeToken(entity, token)
		if !ok {
			return pageRequest{}, errInvalid(op, entity, "", "malformed continuation token")
		}
		p.after = after
	}
	return p, nil
}

// cut trims got, listed with pageToEngine(p), to the page and returns the token of the
// next page ("" when got was the last).
func cut[T any](p pageRequest, got []T, id func(T) string) ([]T, string) {
	if len(got) <= p.size {
		return got, ""
	}
	got = got[:p.size]
	return got, encodeToken(p.entity, id(got[len(got)-1]))
}

// Tokens are base64url (unpadded) of: a version byte, the length of the entity's
// name, the name, and the last ID returned (raw bytes, so that any ID survives).
const tokenVersion = 1

// maxTokenLength bounds what decodeToken reads: far above any token it issues (IDs
// are at most a few hundred bytes), far below what would cost anything to reject.
const maxTokenLength = 4096

func encodeToken(entity, lastID string) string {
	b := make([]byte, 0, 2+len(entity)+len(lastID))
	b = append(b, tokenVersion, byte(len(entity)))
	b = append(b, entity...)
	b = append(b, lastID...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(entity, token string) (lastID string, ok bool) {
	if len(token) > maxTokenLength {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < 2 || b[0] != tokenVersion {
		return "", false
	}
	n := int(b[1])
	b = b[2:]
	if len(b) <= n || string(b[:n]) != entity {
		return "", false
	}
	return string(b[n:]), true
}
