// Package conf loads and validates pam_duo_go's configuration: duo_unix's
// ini format (/etc/duo/pam_duo.conf, /etc/duo/login_duo.conf) with the same
// keys, defaults and meanings, and the PAM module's arguments.
//
// Keys (section names do not matter; keys are case sensitive, as in
// duo_unix; values are trimmed; booleans are yes/true/on/1 or
// no/false/off/0 in any case, anything else is an error):
//
//	ikey, skey, host    required; host is a name or IP address with an optional :port
//	cafile              Duo's built-in roots; an absolute path to a PEM bundle
//	http_proxy          none; http://[user:pass@]host:port or host:port
//	groups, group       pattern lists (see GroupsMatch); default: every user
//	failmode            safe (default) or secure, in any case
//	pushinfo            no; send the command (sudo) with the push
//	noverify            accepted with a warning; no effect (TLS is always verified)
//	prompts             3; lower than 1 is raised to 1, over 3 lowered to 3 (warning)
//	autopush            no
//	accept_env_factor   no; login_duo_go reads $DUO_PASSCODE
//	fallback_local_ip   no
//	https_timeout       15 seconds; 0 or less means the default, over 300 is lowered to 300 (warning)
//	send_gecos          no; send the whole GECOS field as the Duo username
//	gecos_parsed        accepted with a warning; no effect (deprecated in duo_unix)
//	gecos_delim         ","; one punctuation character other than ":"
//	gecos_username_pos  none; send this field (from 1) of the GECOS split at gecos_delim
//	verified_push       no; cannot be combined with autopush
//	dev_fips_mode       accepted with a warning; no effect
//	motd                no; login_duo_go shows /etc/motd (login_duo)
//	min_tls             1.2; the lowest TLS version: 1.2 or 1.3 (1.0 and 1.1 mean 1.2, with a warning) (newer duo_unix)
//	disable_ca_pinning  no; trust the system's certificate store instead of Duo's roots (cafile still wins) (newer duo_unix)
//	push_type           Duo's default; the text of the push notification (at most 256 bytes) (pam_duo_go's own)
//	display_username    none; the name Duo Mobile shows instead of the Duo username (at most 256 bytes) (pam_duo_go's own)
//	remember            off; a duration (900, 15m, 8h; at most 12h): remembered approvals (pam_duo_go's own)
//	enroll_qr           yes; also show the enrollment URL as a QR code (yes = for dark backgrounds, light, no) (pam_duo_go's own)
//	metrics_file        none; a .prom file for node_exporter's textfile collector (pam_duo_go's own)
//
// A key given more than once takes its last value (with a warning), as in
// duo_unix; groups and group lines add up. A line indented under a key
// line continues that key's value, which only groups may use. Comments are
// lines starting with ";" or "#", and " ;" ends a value.
//
// Where pam_duo_go departs from duo_unix, it is stricter or safer: a bad
// boolean or number is an error (duo_unix read it as no or 0); the file's
// owner and group/other write access are checked too; https_timeout 0 means
// 15 seconds, not no timeout; an empty cafile and noverify do not turn TLS
// checks off; failmode is case insensitive; the file must be UTF-8 without
// control characters; and the failmode of a refused or broken file still
// applies (duo_unix fell back to safe).
package conf
