/*
 * runtime/sse/sse_grammar.rl — the text/event-stream grammar (WHATWG HTML, "event stream
 * interpretation"), as a Ragel machine with no C in it. sse_parser.rl defines the actions named
 * here, then includes this file. Read by Ragel only: scripts/regen.sh turns sse_parser.rl (with
 * this file) into the committed sse_parser.c.
 *
 *   stream  = [ bom ] *line
 *   line    = field eol / comment eol / eol        ; eol alone is a blank line
 *   field   = 1*name-char [ ":" [ " " ] *any-char ]
 *   comment = ":" [ " " ] *any-char
 *   eol     = CR LF / CR / LF
 *
 * Every byte string is a valid stream prefix, so the machine never fails.
 */
%%{
    machine sse_grammar;

    cr = '\r';
    lf = '\n';

    # The LF of a CRLF outranks the blank line an LF after a CR could also start: a CR at the
    # end of one chunk and an LF at the start of the next are one line end.
    eol = ( cr ( lf >(sse_eol, 2) )? ) | lf;

    name_char = any - ( ':' | cr | lf );
    value_char = any - ( cr | lf );

    # The first colon ends the name; one space right after it is not part of the value. From
    # the second value byte on, value_skip may jump over the rest of the value (every byte up
    # to the line end is a value byte); not on the first, which may be that space.
    value = ( ' ' @space )? ( value_char ( value_char $value_skip )* )?;

    field_line = ( name_char >line_begin ) name_char* ( ':' @colon value )?;
    comment_line = ':' >line_begin @colon value;

    line = ( field_line eol >field_end
           | comment_line eol >comment_end
           | eol >blank_line ) >(sse_eol, 1);

    # A byte order mark may open the stream. Once its last byte arrives it cannot also be the
    # start of a field name.
    bom = 0xEF 0xBB ( 0xBF >(sse_bom, 2) );

    main := bom? ( line $(sse_bom, 1) )*;
}%%
