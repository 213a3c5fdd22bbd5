package client

import "errors"

// Sentinel errors of the client.
var (
	// ErrNotFound means no task with that id is known to the bus.
	ErrNotFound = errors.New("task not found")
	// ErrFinished means the task already ended, so it cannot be cancelled.
	ErrFinished = errors.New("task already finished")
	// ErrUnavailable means the kernel did not answer in time.
	ErrUnavailable = errors.New("kernel unavailable")
	// ErrForbidden means the caller's credential lacks a grant.
	ErrForbidden = errors.New("forbidden")
	// ErrIDTaken means another owner's task has the id asked for.
	ErrIDTaken = errors.New("task id taken")
)

// Sentinel errors of schedules.
var (
	// ErrScheduleNotFound means no schedule with that id exists.
	ErrScheduleNotFound = errors.New("schedule not found")
	// ErrScheduleExists means the id names a schedule already.
	ErrScheduleExists = errors.New("schedule exists")
	// ErrSchedulesFull means the kernel holds as many schedules as it may.
	ErrSchedulesFull = errors.New("too many schedules")
)
