// A real OpenID Connect provider (the npm package oidc-provider) for the dashboard's browser test:
//   node provider.mjs PORT REDIRECT_URI
// serves http://127.0.0.1:PORT with one client, `microbranch` (secret `microbranch-test-secret`), whose only
// redirect URI is REDIRECT_URI. Its own sign-in pages take any login name and password; the login name is the
// account's e-mail address (the claim the dashboard maps to a role).
import Provider from "oidc-provider";

const [port, redirectUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: "microbranch",
    client_secret: "microbranch-test-secret",
    redirect_uris: [redirectUri],
    post_logout_redirect_uris: [redirectUri],  // where Streamlit's st.logout asks to come back
    grant_types: ["authorization_code"],
    response_types: ["code"],
  }],
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
  // The scopes' claims in the ID token too, as most organisations' providers do (Streamlit reads the ID token).
  conformIdTokenClaims: false,
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: id, email_verified: true, name: id.split("@")[0] };
      },
    };
  },
  cookies: { keys: ["a test key, not a secret"] },
});
provider.proxy = false;

provider.listen(Number(port), "127.0.0.1", () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
