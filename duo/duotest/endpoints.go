package duotest

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pam-duo-go/pam_duo_go/duo"
)

func (s *Server) ping(w http.ResponseWriter, _ *http.Request, _ url.Values) {
	s.ok(w, duo.TimeResponse{Time: s.now().Unix()})
}

// onePixelPNG is a valid 1x1 PNG.
var onePixelPNG, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

func (s *Server) logo(w http.ResponseWriter, _ *http.Request, _ url.Values) {
	w.Header().Set("Content-Type", "image/png")
	w.Write(onePixelPNG)
}

func (s *Server) enroll(w http.ResponseWriter, _ *http.Request, p url.Values) {
	name := p.Get("username")
	if name == "" {
		name = "user-" + randomHex(4)
	}
	code := randomHex(10)
	s.ok(w, duo.EnrollResponse{
		ActivationBarcode: "https://" + s.Host + "/frame/qr?value=" + code,
		ActivationCode:    "duo://" + code,
		ActivationURL:     "https://" + s.Host + "/activate/" + code,
		Expiration:        s.now().Add(24 * time.Hour).Unix(),
		UserID:            "DU" + strings.ToUpper(randomHex(9)),
		Username:          name,
	})
}

func (s *Server) enrollStatus(w http.ResponseWriter, _ *http.Request, p url.Values) {
	if p.Get("user_id") == "" || p.Get("activation_code") == "" {
		s.badParam(w, "user_id and activation_code are required")
		return
	}
	s.ok(w, duo.EnrollWaiting)
}
