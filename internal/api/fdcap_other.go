//go:build !unix

package api

// fdCap is limit where there is no open-file limit to read (Windows).
func fdCap(limit int) int { return limit }
