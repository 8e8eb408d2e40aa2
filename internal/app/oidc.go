package app

// oidcLogin is single sign-on with an OpenID Connect provider.
type oidcLogin struct{}
