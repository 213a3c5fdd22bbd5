package main

func init() {
	register(command{name: "auth", summary: "issue and revoke credentials and HTTP tokens", subs: []command{
		{name: "creds", summary: "issue a NATS credential: amf auth creds admin|worker|bridge|client -o FILE", run: runAuthCreds},
		{name: "token", summary: "create, list and revoke HTTP bearer tokens", subs: []command{
			{name: "create", summary: "create a token with scopes and profile grants", run: tokenCreate},
			{name: "list", aliases: []string{"ls"}, summary: "list tokens (never their secrets)", run: tokenList},
			{name: "revoke", aliases: []string{"rm"}, summary: "revoke tokens by id", run: tokenRevoke},
		}},
		{name: "revoke", summary: "revoke a credential by name, user key or .creds file", run: runAuthRevoke},
		{name: "list", aliases: []string{"ls"}, summary: "list the credentials issued", run: runAuthList},
		{name: "nats-context", summary: "write a nats CLI context for this installation", run: runAuthContext},
		{name: "init", summary: "create this installation's operator, account and keys", run: runAuthInit},
		{name: "leaf-updates", summary: "write the signed account updates a leaf kernel follows: -o FILE", run: runAuthLeafUpdates},
	}})
}
