// Package status keeps task status in the hot cache: the StatusProjector
// folds the AMF_EVENTS stream, the record of truth, into one status per
// task, and the Lease makes one kernel of a cluster at a time run it.
package status
