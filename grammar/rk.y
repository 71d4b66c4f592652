%define api.pure full
%locations
%define api.prefix {rkc_yy}
%parse-param {void *scanner}
%lex-param {void *scanner}
%code { int rkc_yylex(RKC_YYSTYPE *v, RKC_YYLTYPE *l, void *s); static void rkc_yyerror(RKC_YYLTYPE *l, void *s, const char *m) { (void)l; (void)s; (void)m; } }
%%
file: %empty ;
%%
