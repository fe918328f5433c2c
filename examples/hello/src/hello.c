#include <stdio.h>

int main(void) {
	puts("hello, reproducible world");
	return 0;
}
