package e2e

import (
	"io"
	"net/http"
)

func ioCopy(w io.Writer, resp *http.Response) (int64, error) {
	return io.Copy(w, io.LimitReader(resp.Body, 1<<20))
}
