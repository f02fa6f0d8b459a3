/*
 * runtime/auth/auth_grammar.rl — the grammars of the credentials a request carries, as Ragel
 * machines with no C in them. auth_parser.rl defines the actions named here, then includes this
 * file once per machine. Read by Ragel only: scripts/regen.sh turns auth_parser.rl (with this
 * file) into the committed auth_parser.c.
 *
 *   authorization = OWS ( bearer / other ) OWS                  ; RFC 7235 §2.1, RFC 6750 §2.1
 *   bearer        = "Bearer" [ 1*( SP / HTAB ) token68 ]        ; scheme case-insensitive
 *   other         = auth-scheme [ ( SP / HTAB ) *( VCHAR / obs-text / SP / HTAB ) ]
 *   token68       = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
 *
 *   compact-jws   = b64u-seg "." b64u-seg "." [ b64u-seg ]      ; RFC 7515 §7.1, no padding
 *   b64u-seg      = 1*( ALPHA / DIGIT / "-" / "_" )
 *
 *   api-key       = OWS 1*VCHAR OWS                             ; the x-api-key header
 *
 * A bearer scheme without a token is accepted by the grammar (the caller answers "missing
 * token"); so is a JWS with an empty signature (the caller rejects `alg: none` by name).
 * Lengths are bounded by the parser, not here.
 */
%%{
    machine auth_grammar;
    alphtype unsigned char;

    ows = [ \t]*;
    tchar = alnum | [!#$%&'*+.^_`|~\-];
    t68char = alnum | [\-._~+/];
    b64u = alnum | [\-_];
    vchar = 0x21..0x7e;
    text = vchar | 0x80..0xff | [ \t];

    # Only the token's first byte and the blanks after it carry actions (the token ends where
    # those blanks begin), so the bytes of a long token cost no action each.
    token68 = ( t68char+ '='* ) >cred_begin;

    # "bearer" itself is not an `other` scheme, so after exactly those six letters only the
    # bearer branch goes on; @bearer_seen marks where such a scheme would end.
    bearer = ( 'bearer'i >scheme_begin $scheme_char @bearer_seen ) ( [ \t]+ token68 ( [ \t] $cred_trail )* )? ows;
    other = ( ( tchar+ - 'bearer'i ) >scheme_begin $scheme_char ) ( [ \t] text* )?;

    authorization = ows ( bearer | other );

    compact_jws = b64u+ '.' @dot b64u+ '.' @dot b64u*;

    api_key = ows ( vchar+ >key_begin $key_char ) ows;
}%%
