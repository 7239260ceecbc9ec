package jobrouter

// Labels maps label keys to values: strings, bools, integers or floats; nothing else.
type Labels map[string]any
