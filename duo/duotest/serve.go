package duotest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
	params, err := requestParams(r)
	if err != nil {
		s.fail(w, http.StatusBadRequest, 40002, "Invalid request parameters", err.Error())
		return
	}
	s.log(r, params)
	s.pause(r, s.delay)
	if f, ok := s.takeFault(r.URL.Path); ok && s.applyFault(w, r, f) {
		return
	}
	if r.URL.Path != "/auth/v2/ping" {
		if code, msg := s.verify(r, params); code != 0 {
			s.fail(w, http.StatusUnauthorized, code, msg, "")
			return
		}
	}
	route := map[string]struct {
		method string
		fn     func(http.ResponseWriter, *http.Request, url.Values)
	}{
		"/auth/v2/ping":          {http.MethodGet, s.ping},
		"/auth/v2/check":         {http.MethodGet, s.ping},
		"/auth/v2/logo":          {http.MethodGet, s.logo},
		"/auth/v2/enroll":        {http.MethodPost, s.enroll},
		"/auth/v2/enroll_status": {http.MethodPost, s.enrollStatus},
		"/auth/v2/preauth":       {http.MethodPost, s.preauth},
		"/auth/v2/auth":          {http.MethodPost, s.auth},
		"/auth/v2/auth_status":   {http.MethodGet, s.authStatus},
	}
	h, ok := route[r.URL.Path]
	switch {
	case !ok:
		s.fail(w, http.StatusNotFound, 40401, "Resource not found", "")
	case r.Method != h.method:
		s.fail(w, http.StatusMethodNotAllowed, 40501, "Method not allowed", "")
	default:
		h.fn(w, r, params)
	}
}

func requestParams(r *http.Request) (url.Values, error) {
	if r.Method != http.MethodPost {
		return r.URL.Query(), nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	return url.ParseQuery(string(body))
}

func (s *Server) ok(w http.ResponseWriter, response any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"stat": "OK", "response": response})
}

func (s *Server) fail(w http.ResponseWriter, status, code int, msg, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body := map[string]any{"stat": "FAIL", "code": code, "message": msg}
	if detail != "" {
		body["message_detail"] = detail
	}
	json.NewEncoder(w).Encode(body)
}

func (s *Server) badParam(w http.ResponseWriter, name string) {
	s.fail(w, http.StatusBadRequest, 40002, "Invalid request parameters", name)
}
