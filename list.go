package jobrouter

// ListOptions pages a list of policies or queues: results are sorted by ID, start
// after After and hold at most Limit entries. A nil *ListOptions is the zero value:
// everything.
type ListOptions struct {
	// After pages the list: only entities whose ID sorts after it are returned.
	// Defaults to "" (from the first). Pass the last ID of the previous page.
	After string
	// Limit caps the number of entities returned. Defaults to 0: no cap. Negative is
	// ErrInvalidArgument.
	Limit int
}

// page checks opts and returns the engine's paging bounds.
func (o *ListOptions) page(op, entity string) (ListOptions, error) {
	var p ListOptions
	if o != nil {
		p = *o
	}
	if p.Limit < 0 {
		return p, errInvalid(op, entity, "", "Limit must not be negative")
	}
	return p, nil
}
