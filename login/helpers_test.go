package login_test

import "os"

func writeFileMode(path, text string, mode uint32) error {
	if err := os.WriteFile(path, []byte(text), os.FileMode(mode)); err != nil {
		return err
	}
	return os.Chmod(path, os.FileMode(mode))
}
