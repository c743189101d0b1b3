package benchrig

import (
	"errors"
	"fmt"
)

// Code classifies an error. It maps to a process exit code in cmd and to an
// HTTP status in the web API, each in one place.
type Code string

const (
	EInternal     Code = "internal"      // a bug or an unexpected failure
	EInvalid      Code = "invalid"       // bad input: a spec, a flag, a path (exit 2)
	ENotFound     Code = "not_found"     // a run or case that does not exist (exit 2)
	EUnavailable  Code = "unavailable"   // a service or node that cannot be reached; retryable
	ETrialsFailed Code = "trials_failed" // the run completed but some trials failed (exit 1)
	ECancelled    Code = "cancelled"     // stopped by the user
	ERegression   Code = "regression"    // the gate found a regression (exit 1)
)

// Error is benchrig's error type. File, Line and Field locate bad input.
type Error struct {
	Code  Code
	File  string // file the problem is in, if any
	Line  int    // 1-based line in File, 0 if unknown
	Field string // dotted path of the field, e.g. "params.threads[2]"
	Msg   string // the reason, lower case
	Err   error  // the underlying error, if any
	// Retryable marks failures that may succeed when tried again.
	Retryable bool
}

func (e *Error) Error() string {
	s := ""
	if e.File != "" {
		s = e.File
		if e.Line > 0 {
			s += fmt.Sprintf(":%d", e.Line)
		}
		s += ": "
	}
	if e.Field != "" {
		s += e.Field + ": "
	}
	s += e.Msg
	if e.Err != nil {
		if e.Msg != "" {
			s += ": "
		}
		s += e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal
// for other non-nil errors and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// Errors collects several errors of one input, e.g. every problem of a spec.
type Errors []*Error

func (es Errors) Error() string {
	s := ""
	for i, e := range es {
		if i > 0 {
			s += "\n"
		}
		s += e.Error()
	}
	return s
}

// Unwrap lets errors.As find the first *Error of the list.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Err returns nil when es is empty and es otherwise.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}
