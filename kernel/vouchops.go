package kernel

// operatorCred reports whether cred is the credential id of an admin
// credential this kernel's authority issued and has not revoked: the
// memory voucher takes such a credential's learned records as they are
// (an admin may publish on the bare learned subject anyway). It reads
// the issued list at each call; learning is rare, and a credential
// issued a moment ago is known at once.
func (s *Server) operatorCred(cred string) bool {
	a := s.Authority()
	if a == nil {
		return false
	}
	list, err := a.List()
	if err != nil {
		s.logger().Warn("memory voucher: reading the issued credentials", "err", err)
		return false
	}
	for _, r := range list {
		if r.Role == RoleAdmin && !r.Revoked && CredentialID(r.Key) == cred {
			return true
		}
	}
	return false
}
