-- AlterEnum
ALTER TYPE "RunTrigger" ADD VALUE 'cli';
